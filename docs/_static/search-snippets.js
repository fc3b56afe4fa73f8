// Search results show plain text: no language switch, and math read as text (δh_t, not \(\delta h_t\)).
(function () {
  const SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", Gamma: "Γ", delta: "δ", Delta: "Δ", epsilon: "ε", eta: "η",
    theta: "θ", lambda: "λ", mu: "μ", sigma: "σ", Sigma: "Σ", tau: "τ", phi: "φ", psi: "ψ", omega: "ω",
    ell: "ℓ", partial: "∂", nabla: "∇", odot: "⊙", cdot: "·", times: "×", sum: "∑", prod: "∏", top: "ᵀ",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", approx: "≈", neq: "≠", to: "→", infty: "∞", langle: "⟨",
    rangle: "⟩", tanh: "tanh", log: "log", exp: "exp", max: "max", min: "min", quad: " ", qquad: " ",
  };

  function texToText(tex) {
    let text = tex.trim().replace(/^\\\(|\\\)$|^\\\[|\\\]$/g, "");
    for (let i = 0; i < 3; i++) text = text.replace(/([_^])\{([^{}]*)\}/g, "$1$2");  // h_{t+1} → h_t+1
    return text
      .replace(/\\begin\{[^}]*\}|\\end\{[^}]*\}|\\left|\\right|\\!|\\,|\\;|&/g, " ")
      .replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)")
      .replace(/\\(?:mathbf|mathrm|boldsymbol|operatorname|text|tilde|hat|bar)\{([^{}]*)\}/g, "$1")
      .replace(/\\([A-Za-z]+)/g, (whole, name) => SYMBOLS[name] || "")
      .replace(/\\\\/g, " ")
      .replace(/\\/g, "")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }

  const original = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page.querySelectorAll(".language-switch, .cell-diagram svg, .engine-plot").forEach((e) => e.remove());
    page.querySelectorAll(".math").forEach((e) => e.replaceWith(page.createTextNode(` ${texToText(e.textContent)} `)));
    return original(page.documentElement.outerHTML, anchor);
  };
})();
