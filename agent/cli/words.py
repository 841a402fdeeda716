"""The Korean words of the operators' commands (`alerts`, `status`): table headers and the
states, severities and flags they show. One table, so a word reads the same everywhere;
`inventory` and `plan` keep the lifecycle and budget vocabulary of their own modules."""
from __future__ import annotations

from collections.abc import Sequence

KO: dict[str, str] = {
    # headers
    "ID": "ID", "STATE": "상태", "SEVERITY": "등급", "DEVICE": "장비", "RULE": "규칙",
    "INSTANCE": "대상", "SINCE": "시작", "NOTE": "비고", "SILENCE": "무음 ID",
    "MATCHERS": "조건", "UNTIL": "종료", "AUTHOR": "작성자", "REASON": "사유",
    "START": "시작", "END": "종료", "DURATION": "시간", "OUTAGES": "장애 횟수",
    "DOWN": "장애 시간", "PROTOCOL": "방식", "LAST POLL": "최근 수집", "RESULT": "결과",
    "FAILS": "실패", "OVERLAPS": "중첩", "NEXT": "다음 수집", "LAST ERROR": "최근 오류",
    # states, severities, flags
    "firing": "발생", "pending": "대기", "critical": "심각", "warning": "경고", "info": "정보",
    "suppressed": "억제됨", "silenced": "무음", "acked": "확인됨", "flapping": "반복 변동",
    "site closed": "운영시간 외", "ongoing": "진행 중", "resolved": "해소",
}


def word(text: str, lang: str) -> str:
    """`text` in `lang` (unknown words stay as they are: ids, rule names, addresses)."""
    return KO.get(text, text) if lang == "ko" else text


def words(texts: Sequence[str], lang: str) -> list[str]:
    return [word(t, lang) for t in texts]
