"""The console's words in Korean and English. Korean is the default; the operators'
commands' words (agent/cli/words.py: states, severities, flags, headers) are reused so a
word reads the same on the terminal and on the screen, and each rule's description comes
from alerts/delivery/rule_texts.py, as the channels tell it."""
from __future__ import annotations

import re

from agent.cli.words import KO as COMMAND_KO
from alerts.delivery.rule_texts import RULE_TEXTS
from inventory.hours import DAYS

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"

_CONSOLE_KO: dict[str, str] = {
    "Board": "현황판", "Alerts": "경보", "Lifecycle & plan": "수명주기·교체계획",
    "Device": "장비", "Log in": "로그인", "Log out": "로그아웃", "User": "사용자",
    "Password": "비밀번호", "Down or degraded now": "지금 장애·성능 저하",
    "Nothing is down or degraded.": "장애나 성능 저하가 없습니다.",
    "Sites": "사이트별", "devices": "대", "up": "정상", "down": "장애", "not polled yet": "수집 전",
    "lifecycle only": "자산만 관리", "Kiosks": "무인민원발급기", "open": "운영 중",
    "closed": "운영시간 외", "behind it": "하위 장비", "suppressed behind": "상위 장애로 억제",
    "updated": "갱신", "the agent is not running": "에이전트가 실행 중이 아닙니다",
    "Acknowledge": "확인", "Silence": "무음", "Unsilence": "무음 해제", "comment": "메모",
    "reason": "사유", "for": "기간", "Filter": "필터", "all": "전체", "kind": "종류",
    "site": "사이트", "category": "분류", "severity": "등급", "state": "상태",
    "Silences": "무음 목록", "History": "장애 이력", "availability": "가용률",
    "watched": "감시 기간", "no silences": "무음 없음", "no outages": "장애 없음",
    "Identity": "식별 정보", "inventory says": "자산대장", "device says": "장비 응답",
    "drift": "불일치", "Last polls": "최근 수집", "Charts": "그래프", "Lifecycle": "수명주기",
    "acquired": "취득일", "service life": "내용연수", "life ends": "내용연수 만료",
    "support ends": "기술지원 종료", "warranty ends": "무상보증 종료",
    "contract ends": "유지보수 계약 종료", "lease ends": "임차 종료", "years": "년",
    "Within": "이내", "months": "개월", "Plan for": "교체계획 연도", "Download": "내려받기",
    "Show": "보기", "time": "시각", "duration": "소요 시간", "result": "결과",
    "no data in the embedded store yet": "내장 저장소에 아직 데이터가 없습니다",
    "Charts are in Grafana": "그래프는 Grafana에서 봅니다",
    "metrics go to InfluxDB: see Grafana": "지표는 InfluxDB에 저장됩니다: Grafana를 보세요",
    "read only": "읽기 전용", "logged in as": "로그인 사용자", "name": "이름", "vendor": "제조사",
    "model": "모델", "serial": "일련번호", "location": "위치", "criticality": "중요도",
    "parent": "상위 장비", "hours": "운영시간", "poll": "수집 방식", "status": "상태",
    "since": "시작", "alert": "경보", "who": "처리자", "when": "일시", "matchers": "조건",
    "until": "종료", "id": "ID", "summary": "내용", "Lifecycle due": "교체·지원 종료 예정",
    "ends": "만료", "exceeded": "내용연수 경과", "due": "만료 예정", "in_service": "사용 중",
    "unsupported": "지원 종료", "support_ending": "지원 종료 예정", "supported": "지원 중",
    "unknown": "알 수 없음", "over the": "기준:", "watched since": "감시 시작",
    "login refused": "로그인 실패", "too many attempts: try again later":
        "시도가 너무 많습니다. 잠시 후 다시 시도하세요",
    "Language": "언어", "acked by": "확인", "no alerts": "경보 없음",
    "Interface traffic (bit/s)": "인터페이스 트래픽 (bit/s)", "UPS charge (%)": "UPS 충전량 (%)",
    "UPS runtime (min)": "UPS 잔여 시간 (분)", "CPU (%)": "CPU (%)", "Memory (%)": "메모리 (%)",
    "Ping latency (ms)": "핑 지연 (ms)", "HTTP response (s)": "HTTP 응답 (s)",
    "Poll duration (s)": "수집 소요 (s)", "last hour": "최근 1시간", "in": "수신", "out": "송신",
    "Open in Grafana": "Grafana에서 보기",
    "changes need console.read_only: false and a logged-in user":
        "변경하려면 console.read_only: false 설정과 로그인이 필요합니다",
    "outage": "장애", "ups": "UPS", "interface": "인터페이스", "host": "호스트", "http": "HTTP",
    "ping": "핑", "kiosk": "키오스크", "lifecycle": "수명주기",
    "of the": "중", "minutes watched": "분 감시", "hours watched": "시간 감시",
    "days watched": "일 감시",
    "Lifecycle notices": "수명주기 알림",
    "service life, support, contracts: not down": "내용연수·기술지원·계약: 장애 아님",
    "the console does not answer: this board is not being updated":
        "콘솔이 응답하지 않습니다: 이 현황판은 갱신되지 않고 있습니다",
    # criticality, contract states, poll results (collectors/base.py ResultCode)
    "high": "높음", "normal": "보통", "low": "낮음",
    "ended": "종료", "ending": "종료 예정", "active": "유효",
    "success": "성공", "timeout": "시간 초과", "auth_failure": "인증 실패",
    "no_such_object": "객체 없음", "bad_response": "잘못된 응답", "partial": "일부 응답",
    "config_error": "설정 오류", "connection_error": "연결 실패",
    "max": "최대", "Not Found": "찾을 수 없습니다", "not found": "찾을 수 없습니다",
    "acknowledged": "확인 처리", "silence set": "무음 설정", "silence lifted": "무음 해제",
    "refused": "거부",
}

KO: dict[str, str] = {**COMMAND_KO, **_CONSOLE_KO}
_DAYS_KO = dict(zip(DAYS, "월화수목금토일", strict=True))
_DAY_NAME = re.compile(r"[A-Za-z]{3}")
ALWAYS_OPEN = ("24h", "24/7", "always")


def pick_lang(wanted: str | None) -> str:
    return wanted if wanted in LANGS else DEFAULT_LANG


def say(text: str, lang: str) -> str:
    """`text` in `lang`; unknown words (ids, rule names) stay as they are."""
    return KO.get(text, text) if lang == "ko" else text


def hours_text(hours: str, lang: str) -> str:
    """Opening hours as the inventory writes them (inventory/hours.py's grammar), in
    `lang`: 'Mon-Fri 09:00-18:00; Sat 09:00-13:00' reads '월~금 09:00~18:00; 토 09:00~13:00'."""
    if lang != "ko":
        return hours
    clauses = []
    for clause in filter(None, (c.strip() for c in hours.split(";"))):
        days, _, span = " ".join(clause.split()).partition(" ")
        if days.lower() in ALWAYS_OPEN and not span:
            clauses.append("24시간")
            continue
        named = "매일" if days.lower() == "daily" else _DAY_NAME.sub(
            lambda m: _DAYS_KO.get(m.group().lower(), m.group()), days).replace("-", "~")
        clauses.append(f"{named} {span.replace('-', '~')}".strip())
    return "; ".join(clauses)


def rule_description(rule: str, lang: str) -> str:
    """What the rule checks and where to look, as the channels tell it."""
    texts = RULE_TEXTS.get(rule)
    if texts is None:
        return ""
    return texts.description_ko if lang == "ko" else texts.description
