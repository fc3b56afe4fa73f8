// The playground page: the editor, its menus, and the results of the engine, which runs in a worker
// (playground-worker.js). Only this page loads it; the worker starts when the page opens.
(() => {
  const root = document.getElementById("playground");
  if (!root) return;
  const config = JSON.parse(document.getElementById("playground-config").textContent);
  const part = (name) => document.getElementById(`pg-${name}`);
  const [editor, cellMenu, notationMenu, status, progress, errorBox, output, own] =
    ["editor", "cell", "notation", "status", "progress", "error", "output", "own"].map(part);
  const say = (key, values = {}) => {
    status.textContent = config.status[key].replace(/\{(\w+)\}/g, (_, name) => values[name]);
  };
  const duration = (ms) => (ms < 1000 ? `${Math.round(ms)}\u00a0ms` : `${(ms / 1000).toFixed(1)}\u00a0s`);

  if (!config.runtime) {
    say("missing");
    progress.hidden = true;
    return;
  }

  cellMenu.value = config.default;  // a browser restores the menu's choice on Back, not the editor's text
  const worker = new Worker(config.worker, { type: "module" });
  const runtime = { ...config.runtime, base: new URL(config.runtime.base, location.href).href };
  let asked = 0;  // the id of the latest request
  let running = false;  // a request is with the worker
  let waiting = false;  // the editor changed while it was
  let sent = 0;  // when the running request was sent
  let timer = null;
  let ready = false;  // the worker has loaded the engine
  let step = "python";  // what the runtime is loading
  const clock = setInterval(() => say(step, { seconds: Math.round(performance.now() / 1000) }), 1000);

  function fail(message) {
    clearInterval(clock);
    progress.hidden = true;
    say("failed", { message });
    root.dataset.failed = message;
  }

  function request() {
    if (!ready) return;  // the worker derives what the editor holds once it is ready
    if (running) {
      waiting = true;
      return;
    }
    running = true;
    waiting = false;
    sent = performance.now();
    say("deriving");
    worker.postMessage({ type: "render", id: ++asked, text: editor.value, notation: notationMenu.value });
  }

  function typeset(element) {
    const mathjax = window.MathJax;
    if (!mathjax || !mathjax.typesetPromise) return Promise.resolve();
    return mathjax.startup.promise.then(() => {
      mathjax.typesetClear([element]);
      return mathjax.typesetPromise([element]);
    });
  }

  async function show(result, took) {
    if (result.error) {
      errorBox.textContent = result.error;
      errorBox.hidden = false;
      output.classList.add("pg-stale");
      if (output.hidden) status.textContent = "";
      else say("stale");
      return;
    }
    errorBox.hidden = true;
    output.classList.remove("pg-stale");
    part("title").textContent = result.title;
    part("diagram").innerHTML = result.diagram;  // SVG printed by the engine, every text escaped
    part("legend").innerHTML = result.legend;
    for (const section of output.querySelectorAll(".pg-block")) {
      const tex = result.blocks[section.dataset.block];
      const math = section.querySelector(".pg-math");
      math.dataset.tex = tex;
      math.textContent = `\\[\\begin{split}${tex}\\end{split}\\]`;
    }
    output.hidden = false;
    await typeset(output);
    if (!root.dataset.firstResult) {
      root.dataset.firstResult = String(Math.round(performance.now()));
      say("first", { seconds: (performance.now() / 1000).toFixed(1), time: duration(took) });
    } else {
      say("derived", { time: duration(took) });
    }
    root.dataset.shown = String(Number(root.dataset.shown || 0) + 1);
  }

  worker.onmessage = async ({ data }) => {
    if (data.type === "progress") {
      step = data.step;
      say(step, { seconds: Math.round(performance.now() / 1000) });
    } else if (data.type === "ready") {
      ready = true;
      clearInterval(clock);
      progress.hidden = true;
      request();
    } else if (data.type === "failed") {
      fail(data.message);
    } else if (data.type === "result") {
      running = false;
      if (data.id === asked && !waiting) await show(data.result, performance.now() - sent);
      if (waiting) request();
    }
  };
  worker.onerror = (event) => fail(event.message || config.worker);

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(request, 400);
  };
  editor.addEventListener("input", () => {
    // the reader's own text becomes the menu's first entry, so that choosing a cell never loses it
    own.hidden = false;
    own.dataset.text = editor.value;
    cellMenu.value = "";
    later();
  });
  notationMenu.addEventListener("change", request);
  cellMenu.addEventListener("change", () => {
    editor.value = cellMenu.value ? config.cells[cellMenu.value] : own.dataset.text;
    request();
  });
  part("download").addEventListener("click", () => {
    const name = (editor.value.match(/^\s*name\s*=\s*"([a-z][a-z0-9_]*)"/m) || [null, "cell"])[1];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([editor.value], { type: "application/toml" }));
    link.download = `${name}.toml`;
    link.click();
    URL.revokeObjectURL(link.href);
  });

  say(step, { seconds: 0 });
  worker.postMessage({ type: "start", runtime, messages: config.messages });
})();
