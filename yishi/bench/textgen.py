"""Chinese appeal text for benchmarks: our own templates, or the TipDM 2020 corpus when it lies beside the repo.

The corpus (``../shared/data/tipdm2020``) has no licence for redistribution: it is read at run time only, never
copied into the repository or into anything the repository ships.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

CORPUS_DIRS = [Path("../shared/data/tipdm2020"), Path(__file__).resolve().parents[3] / "shared" / "data" / "tipdm2020"]

PLACES = ["幸福小区", "朝翠路", "江南花园", "滨江新城", "东湖苑", "金桂里", "工业大道", "外海大道", "新民社区", "五邑广场"]
SUBJECTS = [
    ("加装电梯", "{place}{n}栋老旧住宅加装电梯的申请已经递交{m}个月，至今没有进展，老人上下楼非常困难，请尽快推进。"),
    ("路灯不亮", "{place}路段的路灯已经{m}个月没有亮过，晚上行人和学生出行很危险，希望有关部门尽快维修。"),
    ("噪音扰民", "{place}附近工地夜间施工到凌晨{n}点，噪音很大，影响周边居民休息，请相关部门依法查处。"),
    ("停车难", "{place}小区车位严重不足，车辆乱停占用消防通道，希望规划增设停车位并加强管理。"),
    ("垃圾清运", "{place}垃圾桶已经{n}天没有清运，气味很大，蚊蝇滋生，请环卫部门及时处理。"),
    ("占道经营", "{place}路口每天傍晚有大量摊贩占道经营，造成交通拥堵，请城管部门加强管理。"),
    ("积水内涝", "每次下雨{place}路段都积水严重，最深处超过{n}十厘米，车辆和行人无法通行，请排查排水管网。"),
    ("供水压力", "{place}{n}栋高层住户水压不足，白天经常停水，已经持续{m}周，请供水公司尽快解决。"),
    ("学位咨询", "孩子明年上小学，户籍在{place}，想咨询一下对口学校和入学需要准备的材料。"),
    ("医保报销", "在外地住院的医疗费用如何办理医保报销？需要哪些材料，在{place}哪里办理？"),
    ("物业管理", "{place}物业公司服务差，电梯经常故障，收费不公开，业主多次反映无果，请主管部门督促整改。"),
    ("燃气维修", "{place}{n}栋燃气管道有异味，担心泄漏，请燃气公司尽快上门检查维修。"),
]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def load_corpus(limit: int = 20000) -> list[tuple[str, str]]:
    """(subject, detail) pairs from the TipDM corpus if present; else an empty list."""
    for base in CORPUS_DIRS:
        if not base.is_dir():
            continue
        pairs: list[tuple[str, str]] = []
        for name in ("hot_messages.csv", "labelled_sample.csv", "replies.csv"):
            path = base / name
            if not path.exists():
                continue
            with path.open(encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    subject, detail = _clean(row.get("subject", "")), _clean(row.get("detail", ""))
                    if subject and detail:
                        pairs.append((subject[:60], detail[:2000]))
                    if len(pairs) >= limit:
                        return pairs
        if pairs:
            return pairs
    return []


class TextSource:
    """Deterministic titles and texts, from the corpus when available (mixed with templates) else templates."""

    def __init__(self, seed: int = 7, use_corpus: bool = True) -> None:
        self.rng = random.Random(seed)
        self.corpus = load_corpus() if use_corpus else []

    @property
    def uses_corpus(self) -> bool:
        return bool(self.corpus)

    def pick(self) -> tuple[str, str]:
        if self.corpus and self.rng.random() < 0.7:
            return self.rng.choice(self.corpus)
        topic, template = self.rng.choice(SUBJECTS)
        place = self.rng.choice(PLACES)
        text = template.format(place=place, n=self.rng.randint(1, 30), m=self.rng.randint(1, 12))
        return f"{place}{topic}问题", text
