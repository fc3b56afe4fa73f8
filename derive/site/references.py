"""The works the site cites, and the links from every citation to them.

Each :class:`Work` has the address of the work itself and a pattern that finds its citations in the text
of a page in either language ("Cho et al. 2014", "Cho 等（2014）"). :class:`CitationLinks` runs after the
translation, so a Chinese page links the same works as its English original; ``{references}`` lists
them all. The links point out of the site; nothing is fetched from them, and the site works offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docutils import nodes
from sphinx.locale import get_translation
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective


@dataclass(frozen=True)
class Work:
    key: str
    entry: str  # authors, year, title, where: as published, in no other language
    url: str
    cited: str  # a regular expression matching its citations, English and Chinese
    note: str = ""  # what it is, when the title does not say: translated


def et_al(surname: str, year: int) -> str:
    """"Cho et al. 2014", "Cho et al. (2014)", "Cho 等人（2014）", "Cho 等 2014"."""
    return rf"{surname}(?: et al\.,?| 等人?于?[,，]?)\s*(?:\({year}\)|（{year}）|{year})"


WORKS = (
    Work("hochreiter1997", "Sepp Hochreiter, Jürgen Schmidhuber (1997). Long Short-Term Memory. Neural Computation 9(8).",
         "https://doi.org/10.1162/neco.1997.9.8.1735", r"Hochreiter[^。.;；]{0,25}?1997"),
    Work("gers2000", "Felix A. Gers, Jürgen Schmidhuber, Fred Cummins (2000). Learning to Forget: Continual "
         "Prediction with LSTM. Neural Computation 12(10).", "https://doi.org/10.1162/089976600300015015",
         et_al("Gers", 2000) + "|Gers, Schmidhuber and Cummins|Gers、Schmidhuber 和 Cummins"),
    Work("graves2005", "Alex Graves, Jürgen Schmidhuber (2005). Framewise phoneme classification with bidirectional "
         "LSTM and other neural network architectures. Neural Networks 18(5–6).",
         "https://doi.org/10.1016/j.neunet.2005.06.042", r"Graves[^。.;；]{0,20}?2005"),
    Work("cho2014", "Kyunghyun Cho et al. (2014). Learning Phrase Representations using RNN Encoder–Decoder for "
         "Statistical Machine Translation. EMNLP.", "https://arxiv.org/abs/1406.1078",
         et_al("Cho", 2014)),
    Work("greff2017", "Klaus Greff et al. (2017). LSTM: A Search Space Odyssey. IEEE Transactions on Neural "
         "Networks and Learning Systems 28(10).", "https://arxiv.org/abs/1503.04069",
         et_al("Greff", 2017)),
    Work("jozefowicz2015", "Rafal Jozefowicz, Wojciech Zaremba, Ilya Sutskever (2015). An Empirical Exploration of "
         "Recurrent Network Architectures. ICML.", "https://proceedings.mlr.press/v37/jozefowicz15.html",
         et_al("Jozefowicz", 2015)),
    Work("pascanu2013", "Razvan Pascanu, Tomas Mikolov, Yoshua Bengio (2013). On the difficulty of training "
         "recurrent neural networks. ICML.", "https://arxiv.org/abs/1211.5063", et_al("Pascanu", 2013)),
    Work("arjovsky2016", "Martin Arjovsky, Amar Shah, Yoshua Bengio (2016). Unitary Evolution Recurrent Neural "
         "Networks. ICML.", "https://arxiv.org/abs/1511.06464", et_al("Arjovsky", 2016)),
    Work("merity2018", "Stephen Merity, Nitish Shirish Keskar, Richard Socher (2018). Regularizing and Optimizing "
         "LSTM Language Models. ICLR.", "https://arxiv.org/abs/1708.02182", et_al("Merity", 2018)),
    Work("karpathy2015", "Andrej Karpathy (2015). The Unreasonable Effectiveness of Recurrent Neural Networks.",
         "https://karpathy.github.io/2015/05/21/rnn-effectiveness/", r"Karpathy[^。.;；]{0,20}?2015", "a blog post"),
    Work("wilson1927", "Edwin B. Wilson (1927). Probable Inference, the Law of Succession, and Statistical "
         "Inference. Journal of the American Statistical Association 22(158).",
         "https://doi.org/10.1080/01621459.1927.10502953", r"Wilson[^。.;；]{0,20}?1927"),
    Work("williams1989", "Ronald J. Williams, David Zipser (1989). A Learning Algorithm for Continually Running "
         "Fully Recurrent Neural Networks. Neural Computation 1(2).", "https://doi.org/10.1162/neco.1989.1.2.270",
         r"Williams[^。.;；]{0,20}?1989"),
    Work("zhou2016", "Guo-Bing Zhou, Jianxin Wu, Chen-Lin Zhang, Zhi-Hua Zhou (2016). Minimal Gated Unit for "
         "Recurrent Neural Networks. International Journal of Automation and Computing 13.",
         "https://arxiv.org/abs/1603.09420", et_al("Zhou", 2016)),
    Work("westhuizen2018", "Jos van der Westhuizen, Joan Lasenby (2018). The unreasonable effectiveness of the "
         "forget gate.", "https://arxiv.org/abs/1804.04849", r"Westhuizen[^。.;；]{0,20}?2018"),
    Work("olah2015", "Christopher Olah (2015). Understanding LSTM Networks.",
         "https://colah.github.io/posts/2015-08-Understanding-LSTMs/", r"Olah(?:['’]s post| 的博文| 博文)",
         "a blog post"),
    Work("britz2015", "Denny Britz (2015). Recurrent Neural Networks Tutorial (WildML).",
         "https://dennybritz.com/posts/wildml/recurrent-neural-networks-tutorial-part-1/",
         r"WildML (?:tutorial|教程)", "a tutorial in four parts"),
    Work("ng2018", "Andrew Ng. Sequence Models (deeplearning.ai).",
         "https://www.coursera.org/learn/nlp-sequence-models", r"(?:Andrew )?Ng['’]s course|吴恩达的?课程",
         "course 5 of the Deep Learning Specialization"),
    Work("distill24", "distillpub/post--memorization-in-rnns#24.",
         "https://github.com/distillpub/post--memorization-in-rnns/issues/24",
         r"distillpub/post--memorization-in-rnns(?:#24| issue 24| 第 24 号议题)", "an issue on the GRU diagram's gates"),
    Work("learn2deeplearn44", "jinzishuai/learn2deeplearn#44.",
         "https://github.com/jinzishuai/learn2deeplearn/issues/44",
         r"jinzishuai/learn2deeplearn(?: issue 44| 第 44 号议题)", "an issue on the LSTM backward pass"),
    Work("pytorch15875", "pytorch/pytorch#15875.",
         "https://github.com/pytorch/pytorch/issues/15875", r"pytorch/pytorch#15875",
         "an issue on the GRU equations in the documentation"),
    Work("learn_dl", "hanbt/learn_dl.", "https://github.com/hanbt/learn_dl", r"hanbt/learn_dl",
         "the code of a Chinese series of posts on deep learning"),
)
# a line break in the source is a space in the text
_ = get_translation("sphinx")
SPACE = r"\s*"
CITATION = re.compile("|".join(f"(?P<{w.key}>{w.cited.replace(' ', SPACE)})" for w in WORKS))
BY_KEY = {w.key: w for w in WORKS}
SKIPPED = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.reference, nodes.raw,
           nodes.title, nodes.FixedTextElement)


def link(text: str) -> list[nodes.Node]:
    """The text as text nodes, each citation in it a link to the cited work."""
    found: list[nodes.Node] = []
    start = 0
    for match in CITATION.finditer(text):
        work = BY_KEY[match.lastgroup]
        found.append(nodes.Text(text[start:match.start()]))
        found.append(nodes.reference(match.group(), match.group(), refuri=work.url, classes=["citation-link"]))
        start = match.end()
    return [*found, nodes.Text(text[start:])] if found else []


class CitationLinks(SphinxTransform):
    """Links every citation of a work in :data:`WORKS` to it, in the page's own language."""

    default_priority = 900  # after the translation (20)

    def apply(self) -> None:
        for element in list(self.document.findall(nodes.TextElement)):
            _join_texts(element)
        for text in list(self.document.findall(nodes.Text)):
            if any(isinstance(a, SKIPPED) for a in _ancestors(text)):
                continue
            replacement = link(str(text))
            if replacement:
                parent = text.parent
                at = next(i for i, child in enumerate(parent.children) if child is text)
                for node in replacement:
                    node.parent = parent
                parent.children[at:at + 1] = replacement


def _join_texts(element: nodes.Element) -> None:
    """Neighbouring text nodes as one (the parser keeps a line break apart), so a citation across it is found."""
    index = 0
    while index < len(element.children) - 1:
        here, after = element.children[index], element.children[index + 1]
        if isinstance(here, nodes.Text) and isinstance(after, nodes.Text):  # by position: equal texts are equal
            joined = nodes.Text(str(here) + str(after))
            joined.parent = element
            element.children[index:index + 2] = [joined]
        else:
            index += 1


def _ancestors(node: nodes.Node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def messages() -> list[str]:
    """The notes on the works, for the translation catalog."""
    return [work.note for work in WORKS if work.note]


class References(SphinxDirective):
    """``{references}``: every cited work, linked, with its note in the page's language."""

    def run(self) -> list[nodes.Node]:
        items = nodes.bullet_list(classes=["references"])
        for work in WORKS:
            paragraph = nodes.paragraph()
            paragraph += nodes.reference(work.entry, work.entry, refuri=work.url)
            if work.note:
                paragraph += nodes.Text(f" ({_(work.note)})" if (self.config.language or "en") == "en"
                                        else f"（{_(work.note)}）")
            item = nodes.list_item(ids=[f"ref-{work.key}"])
            item += paragraph
            items += item
        return [items]
