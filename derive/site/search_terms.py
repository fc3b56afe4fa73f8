"""What a reader types into the search box, and the page about it: ``{search-terms} lstm`` on a page adds
index entries for the words readers use for that page's subject, in the page's language, with the
synonyms of each language (单元状态, 记忆细胞 and 细胞状态 are one thing); a Chinese page also takes the
English words, which Chinese readers type as often. Sphinx's search ranks a page whose
index entry matches the query above every page that merely mentions it, so the page about the thing comes
first. The entries also fill the site's general index.
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

# subject → language → words readers search for
SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "rnn": {"en": ("recurrent neural network", "RNN", "simple RNN", "Elman network"),
            "zh_CN": ("循环神经网络", "递归神经网络", "RNN", "简单循环网络", "简单 RNN")},
    "bptt": {"en": ("backpropagation through time", "BPTT", "backpropagation", "backprop"),
             "zh_CN": ("随时间反向传播", "反向传播", "BPTT", "时间反向传播", "反向传播算法")},
    "total-derivative": {"en": ("total derivative", "immediate derivative", "RTRL"),
                         "zh_CN": ("全导数", "直接导数", "实时循环学习")},
    "long-term": {"en": ("vanishing gradient", "exploding gradient", "long-term dependency"),
                  "zh_CN": ("梯度消失", "梯度爆炸", "长期依赖", "长程依赖")},
    "lstm": {"en": ("LSTM", "long short-term memory", "cell state", "memory cell", "forget gate", "input gate",
                    "output gate"),
             "zh_CN": ("LSTM", "长短期记忆", "长短期记忆网络", "长短时记忆", "细胞状态", "单元状态", "记忆细胞",
                       "记忆单元", "遗忘门", "输入门", "输出门")},
    "gru": {"en": ("GRU", "gated recurrent unit", "update gate", "reset gate"),
            "zh_CN": ("GRU", "门控循环单元", "门控循环网络", "更新门", "重置门")},
    "layers": {"en": ("stacked RNN", "deep RNN", "multi-layer RNN", "bidirectional RNN", "bidirectional"),
               "zh_CN": ("堆叠 RNN", "深层循环神经网络", "多层 RNN", "双向循环神经网络", "双向 RNN", "双向")},
    "lstm-vs-gru": {"en": ("LSTM or GRU", "GRU or LSTM"), "zh_CN": ("LSTM 还是 GRU", "GRU 还是 LSTM")},
    "variants": {"en": ("peephole", "peephole connection", "LSTM variants", "coupled gates"),
                 "zh_CN": ("窥视孔", "窥视孔连接", "LSTM 变体", "耦合门")},
    "clipping": {"en": ("gradient clipping",), "zh_CN": ("梯度裁剪", "梯度截断")},
    "truncated": {"en": ("truncated BPTT", "truncated backpropagation"), "zh_CN": ("截断 BPTT", "截断反向传播")},
    "notation": {"en": ("notation", "Rosetta"), "zh_CN": ("符号", "记号", "符号对照")},
    "verification": {"en": ("gradient check", "finite differences"), "zh_CN": ("梯度检验", "有限差分")},
}


class SearchTerms(SphinxDirective):
    """``{search-terms} lstm``: index entries, in the page's language, for the words readers search for."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        subject = SUBJECTS.get(self.arguments[0])
        if subject is None:
            raise self.error(f"search-terms: no subject {self.arguments[0]!r} (known: {', '.join(SUBJECTS)})")
        language = self.config.language or "en"
        words = list(dict.fromkeys([*subject.get(language, ()), *subject["en"]]))  # readers also type English
        target = nodes.target("", "", ids=[f"search-{self.arguments[0]}"])
        index = addnodes.index(entries=[("single", word, target["ids"][0], "main", None) for word in words])
        return [index, target]
