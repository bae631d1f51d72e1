"""Batch linter rules: each with a failing and a passing case."""

from __future__ import annotations

import pytest

from warehouse.extractors.tools.batchlint import lint_source

CASES = [
    ("SEQ001", "def process(self, batch):\n    out = []\n    for _, row in batch.iterrows():\n"
               "        out.append(row['data'].upper())\n    batch['u'] = out\n    return batch",
     "def process(self, batch):\n    batch['u'] = batch['data'].str.upper()\n    return batch"),
    ("SEQ001", "def process(self, batch):\n    return batch.apply(lambda r: r['data'][:10], axis=1)",
     "def process(self, batch):\n    return batch['data'].str[:10]"),
    ("SEQ002", "def process(self, batch):\n    batch['v'] = [self.model.encode(t) for t in batch['data']]\n    return batch",
     "def process(self, batch):\n    batch['v'] = list(self.model.encode(batch['data'].tolist(), batch_size=64))\n    return batch"),
    ("SEQ002", "import requests\ndef process(self, batch):\n    texts = batch['data'].tolist()\n"
               "    batch['r'] = [requests.post(URL, json={'t': t}).json() for t in texts]\n    return batch",
     "from shared.plugins.sdk import concurrent_api_calls\ndef process(self, batch):\n    texts = batch['data'].tolist()\n"
     "    batch['r'] = concurrent_api_calls(texts, self.call, max_concurrent=10)\n    return batch"),
    ("SEQ002", "async def process(self, batch):\n    for t in batch['data']:\n        await self.llm.generate('x', t)",
     "def process(self, batch):\n    return concurrent_api_calls(batch['data'].tolist(), self.ask, max_concurrent=8)"),
    ("SEQ003", "def process(self, batch):\n    for i in range(len(batch)):\n"
               "        ids = self.tokenizer(batch['data'][i], return_tensors='pt')",
     "def process(self, batch):\n    ids = self.tokenizer(batch['data'].tolist(), padding=True, truncation=True)\n    return ids"),
]


@pytest.mark.parametrize("code,bad,good", CASES)
def test_rule(code, bad, good):
    flagged = lint_source(bad, "pipeline.py")
    assert code in {f.code for f in flagged}, [str(f) for f in flagged]
    finding = next(f for f in flagged if f.code == code)
    assert finding.fix and finding.line > 1
    assert code not in {f.code for f in lint_source(good, "pipeline.py")}
