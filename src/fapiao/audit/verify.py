"""Checks the operation log's hash chains (`fapiao audit verify`)."""

from dataclasses import dataclass

from fapiao.audit.models import ChainHead, Event


@dataclass(frozen=True)
class Break:
    chain: str
    sequence: int
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"记录链 {self.chain} 第 {self.sequence} 条"
        if self.event_id is not None:
            where += f"（事件 id={self.event_id}）"
        return f"{where}：{self.reason}"


def chain_verify(chain: str) -> tuple[int, Break | None]:
    """Walks one chain in order; returns how many events were checked and the first break."""
    expected_prev = "0" * 64
    expected_sequence = 1
    checked = 0
    for event in Event.objects.filter(chain=chain).order_by("sequence").iterator(chunk_size=2000):
        if event.sequence != expected_sequence:
            return checked, Break(
                chain, expected_sequence, None, f"缺少第 {expected_sequence} 条记录（已被删除）"
            )
        if event.prev_hash != expected_prev:
            return checked, Break(
                chain, event.sequence, event.pk, "与前一条记录的链接不符（前一条被修改或替换）"
            )
        if event.compute_hash() != event.hash:
            return checked, Break(chain, event.sequence, event.pk, "内容与哈希不符（记录被修改）")
        expected_prev = event.hash
        expected_sequence += 1
        checked += 1
    head = ChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.sequence, head.hash) != (checked, expected_prev):
        return checked, Break(
            chain,
            checked + 1,
            None,
            f"链尾应有 {head.sequence} 条记录，实际只有 {checked} 条（末尾被删除）",
        )
    return checked, None


def chains() -> list[str]:
    names = set(ChainHead.objects.values_list("chain", flat=True))
    names |= set(Event.objects.values_list("chain", flat=True).distinct())
    return sorted(names)
