// The playground's Python, off the page's thread: Pyodide with SymPy and the engine, served by the site.
// Messages in: {type: "start", runtime, messages}, then {type: "render", id, text, notation}.
// Messages out: {type: "progress", step: "engine"} once Python runs, {type: "ready"},
// {type: "result", id, result}, {type: "failed", message} (the runtime did not load).

let render = null;  // a promise of the engine's render function

const post = (type, fields = {}) => self.postMessage({ type, ...fields });
const failed = (error) => post("failed", { message: String((error && error.message) || error) });
self.addEventListener("error", (event) => failed(event.message));
self.addEventListener("unhandledrejection", (event) => failed(event.reason));

async function download(url) {
  const response = await fetch(url).catch((error) => {
    throw new Error(`${url}: ${error.message}`);
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function start(runtime, messages) {
  // the zips download while Pyodide compiles its WebAssembly
  const libraries = download(new URL(runtime.zips.libraries, runtime.base).href);
  const engine = download(new URL(runtime.zips.engine, runtime.base).href);
  const { loadPyodide } = await import(new URL("pyodide/pyodide.mjs", runtime.base).href);
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", runtime.base).href });
  const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
  pyodide.unpackArchive(await libraries, "zip", { extractDir: sitePackages });
  post("progress", { step: "engine" });
  pyodide.unpackArchive(await engine, "zip", { extractDir: sitePackages });
  pyodide.runPython("import importlib; importlib.invalidate_caches()");
  const entry = pyodide.pyimport(runtime.entry);
  const words = pyodide.toPy(messages);
  post("ready");
  return (text, notation) => {
    const result = entry.render(text, notation, words);
    try {
      return result.toJs({ dict_converter: Object.fromEntries });
    } finally {
      result.destroy();
    }
  };
}

self.onmessage = async ({ data }) => {
  if (data.type === "start") {
    render = start(data.runtime, data.messages);
    render.catch(failed);
    return;
  }
  const derive = await render;
  let result;
  try {
    result = derive(data.text, data.notation);
  } catch (error) {  // a failure of the engine itself: its last line, never the traceback
    const lines = String(error.message || error).trim().split("\n");
    result = { error: lines[lines.length - 1] };
  }
  post("result", { id: data.id, result });
};
