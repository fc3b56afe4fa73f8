// Compiles the Python sources of a zip to bytecode with the Python of the pinned Pyodide, so that the
// playground imports SymPy without compiling it in the reader's browser (bytecode fits one Python build).
// Usage: node precompile.mjs PYODIDE_DIR SOURCES.zip OUT.zip   (run by derive/site/playground.py)
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, sources, out] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep, stdout: () => {}, stderr: () => {} });
pyodide.FS.writeFile("/tmp/sources.zip", readFileSync(sources));
pyodide.runPython(`
import compileall, pathlib, py_compile, zipfile
root = pathlib.Path("/tmp/sources")
zipfile.ZipFile("/tmp/sources.zip").extractall(root)
# bytecode beside each source (legacy=True), so that it imports without the source; hashed, not dated,
# so that the same sources give the same bytes
if not compileall.compile_dir(root, quiet=2, legacy=True, workers=1,
                              invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
    raise SystemExit("compileall failed")
with zipfile.ZipFile("/tmp/out.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".py"):
        z.writestr(zipfile.ZipInfo(file.relative_to(root).as_posix()), file.read_bytes(),
                   compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
`);
writeFileSync(out, pyodide.FS.readFile("/tmp/out.zip"));
