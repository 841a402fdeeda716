"""What each alert rule means, and what its recovery says, in English and Korean.

An alert's summary says what was found when it fired ("PC-01: 응답 없음 (시간 초과)"); a
recovery told with that summary reads as if the device were still down. So a message
about a recovery leads with the rule's recovery phrase ("PC-01: 응답 재개"), and every
alert carries the rule's description (Alertmanager's `description` annotation, the
webhook JSON's, a line in mail and chat) saying what the rule checks and where to look.

`{instance}` in a phrase is the alert's instance (a port, a disk, a volume). The rules
themselves are in alerts/evaluation/rules.py; a test keeps this table and them in step
(every rule has its texts, no text is for a rule that does not exist).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleText:
    """One rule's description and recovery phrase, in both languages."""

    description: str
    description_ko: str
    recovered: str
    recovered_ko: str


def _t(description: str, description_ko: str, recovered: str, recovered_ko: str) -> RuleText:
    return RuleText(description=description, description_ko=description_ko,
                    recovered=recovered, recovered_ko=recovered_ko)


_CONTRACTS = {"warranty": ("warranty", "무상보증"), "contract": ("maintenance contract",
                                                            "유지보수 계약"),
              "lease": ("lease", "임차 계약")}


def _contract_texts() -> dict[str, RuleText]:
    texts = {}
    for kind, (en, ko) in _CONTRACTS.items():
        texts[f"{kind}_ended"] = _t(
            f"The device's {en} has ended (inventory dates): renew it or plan a replacement.",
            f"자산대장 기준으로 {ko}이 끝났습니다. 갱신하거나 교체를 계획하세요.",
            f"{en} alert cleared", f"{ko} 경보 해제")
        texts[f"{kind}_ending"] = _t(
            f"The device's {en} ends soon (inventory dates): renew it in time.",
            f"자산대장 기준으로 {ko}이 곧 끝납니다. 기한 안에 갱신하세요.",
            f"{en} alert cleared", f"{ko} 경보 해제")
    return texts


RULE_TEXTS: Mapping[str, RuleText] = {
    "device_down": _t(
        "The device does not answer polls: check its power, its cabling and the device "
        "it hangs off.",
        "장비가 수집 요청에 응답하지 않습니다. 전원, 케이블, 상위 장비를 확인하세요.",
        "answering again", "응답 재개"),
    "device_bad_answer": _t(
        "The device answers, but badly (refused, malformed or error answers): check its "
        "credentials and its SNMP or HTTP service.",
        "장비가 응답은 하지만 비정상입니다(거부, 형식 오류, 오류 응답). 인증 정보와 SNMP·HTTP "
        "서비스를 확인하세요.",
        "answering normally again", "정상 응답 재개"),
    "profile_no_data": _t(
        "The device answers without any of the data its profile asks for: check the "
        "profile and what the device supports.",
        "장비가 응답하지만 프로파일이 요청한 데이터가 없습니다. 프로파일과 장비 지원 항목을 "
        "확인하세요.",
        "data collected again", "데이터 수집 재개"),
    "interface_down": _t(
        "A monitored uplink is down while administratively up: check the cable, the "
        "optics and the port at the other end.",
        "감시 중인 업링크가 관리상 활성인데 다운되었습니다. 케이블, 광모듈, 상대편 포트를 "
        "확인하세요.",
        "uplink {instance} up again", "업링크 {instance} 다시 연결됨"),
    "interface_errors": _t(
        "Errors per second on the port are over the threshold: check the cable, the "
        "optics and the duplex setting.",
        "포트의 초당 오류 수가 기준을 넘었습니다. 케이블, 광모듈, 듀플렉스 설정을 확인하세요.",
        "{instance}: error rate back to normal", "{instance}: 오류율 정상"),
    "interface_discards": _t(
        "Discards per second on the port are over the threshold: the link may be "
        "congested.",
        "포트의 초당 폐기 수가 기준을 넘었습니다. 회선이 혼잡할 수 있습니다.",
        "{instance}: discard rate back to normal", "{instance}: 폐기율 정상"),
    "ups_on_battery": _t(
        "The UPS runs on its battery: utility power is lost.",
        "UPS가 배터리로 운전 중입니다. 상용전원이 끊겼습니다.",
        "back on utility power", "상용전원 복귀"),
    "ups_low_battery": _t(
        "The UPS battery is low: what it powers may go down soon.",
        "UPS 배터리가 부족합니다. 연결된 장비가 곧 꺼질 수 있습니다.",
        "battery charge back to normal", "배터리 잔량 정상"),
    "ups_battery_bad": _t(
        "The UPS says its battery needs replacing.",
        "UPS가 배터리 교체가 필요하다고 알립니다.",
        "battery replacement warning cleared", "배터리 교체 경고 해제"),
    "ups_overload": _t(
        "The UPS output is overloaded: move some load off it.",
        "UPS 출력이 과부하입니다. 연결된 부하를 줄이세요.",
        "output load back to normal", "출력 부하 정상"),
    "ups_selftest_failed": _t(
        "The UPS's last self-test failed: check its battery.",
        "UPS의 최근 자가진단이 실패했습니다. 배터리를 점검하세요.",
        "self-test passed", "자가진단 정상"),
    "nas_volume_degraded": _t(
        "A NAS volume is degraded or crashed: replace the failed disk before another fails.",
        "NAS 볼륨이 성능 저하 또는 손상 상태입니다. 다른 디스크가 고장 나기 전에 교체하세요.",
        "volume {instance} healthy again", "볼륨 {instance} 정상"),
    "nas_disk_failed": _t(
        "A NAS disk failed or reports errors: replace it.",
        "NAS 디스크가 고장 났거나 오류를 보고합니다. 교체하세요.",
        "disk {instance} healthy again", "디스크 {instance} 정상"),
    "firewall_sessions_high": _t(
        "The firewall's session table is nearly full: new connections may be refused.",
        "방화벽 세션 테이블이 거의 찼습니다. 새 연결이 거부될 수 있습니다.",
        "session table usage back to normal", "세션 테이블 사용률 정상"),
    "host_disk_full": _t(
        "A disk is fuller than the threshold: free some space.",
        "디스크 사용률이 기준을 넘었습니다. 공간을 확보하세요.",
        "disk {instance} usage back to normal", "디스크 {instance} 사용률 정상"),
    "host_memory_high": _t(
        "Memory use is over the threshold.",
        "메모리 사용률이 기준을 넘었습니다.",
        "memory usage back to normal", "메모리 사용률 정상"),
    "host_cpu_high": _t(
        "CPU use has stayed over the threshold.",
        "CPU 사용률이 기준을 넘은 상태로 지속되었습니다.",
        "CPU usage back to normal", "CPU 사용률 정상"),
    "http_check_failed": _t(
        "The HTTP check got a wrong answer (status, text or a failed request): the "
        "service may be down.",
        "HTTP 점검 결과가 기대와 다릅니다(상태 코드, 내용, 요청 실패). 서비스가 중단되었을 "
        "수 있습니다.",
        "check passing again", "점검 정상"),
    "http_slow": _t(
        "The HTTP check answers slower than the threshold.",
        "HTTP 점검 응답이 기준보다 느립니다.",
        "response time back to normal", "응답 속도 정상"),
    "http_cert_expiring": _t(
        "The site's TLS certificate expires soon or has expired: renew it.",
        "사이트의 TLS 인증서가 곧 만료되거나 만료되었습니다. 갱신하세요.",
        "TLS certificate renewed", "TLS 인증서 갱신됨"),
    "ping_packet_loss": _t(
        "Echo requests to the device are being lost: the path to it is unreliable.",
        "장비로 보낸 핑이 손실되고 있습니다. 경로가 불안정합니다.",
        "packet loss over", "핑 손실 해소"),
    "ping_latency_high": _t(
        "Round trips to the device are slower than the threshold.",
        "장비까지의 응답 시간이 기준보다 깁니다.",
        "round trip back to normal", "응답 지연 해소"),
    "kiosk_paper_out": _t(
        "The kiosk's printer is out of paper: the kiosk cannot issue documents.",
        "무인민원발급기 프린터에 용지가 없습니다. 발급을 할 수 없습니다.",
        "paper refilled", "용지 보충됨"),
    "kiosk_printer_error": _t(
        "The kiosk's printer is in error (jam, fault, offline): the kiosk cannot issue "
        "documents.",
        "무인민원발급기 프린터 오류(용지 걸림, 고장, 연결 끊김)입니다. 발급을 할 수 없습니다.",
        "printer working again", "프린터 정상"),
    "kiosk_card_reader_fault": _t(
        "The kiosk's card reader is faulty: people cannot identify themselves.",
        "무인민원발급기 카드 리더기가 고장입니다. 본인 확인을 할 수 없습니다.",
        "card reader working again", "카드 리더기 정상"),
    "kiosk_toner_low": _t(
        "The kiosk's printer toner is low: replace it.",
        "무인민원발급기 프린터 토너가 부족합니다. 교체하세요.",
        "toner refilled", "토너 보충됨"),
    "drift": _t(
        "What the device says it is differs from the inventory: the device was replaced, "
        "or the inventory is wrong.",
        "장비가 알려 주는 정보가 자산대장과 다릅니다. 장비가 바뀌었거나 자산대장이 "
        "틀렸습니다.",
        "matches the inventory again", "자산대장과 일치"),
    "cluster_zone_down": _t(
        "No node of this cluster zone is alive, so nobody polls the zone's devices: "
        "start a node of the zone (`lifeline cluster CONFIG status` shows them).",
        "이 클러스터 구역에 동작 중인 노드가 없어 구역의 장비를 아무도 수집하지 않습니다. "
        "구역의 노드를 시작하세요(`lifeline cluster CONFIG status`로 확인).",
        "a node of the zone is live again", "구역의 노드 동작 재개"),
    "lifecycle_exceeded": _t(
        "The device is past its service life (inventory dates): plan its replacement.",
        "자산대장 기준으로 내용연수가 지났습니다. 교체를 계획하세요.",
        "service-life alert cleared", "내용연수 경보 해제"),
    "lifecycle_due": _t(
        "The device reaches the end of its service life soon (inventory dates).",
        "자산대장 기준으로 곧 내용연수가 끝납니다.",
        "service-life alert cleared", "내용연수 경보 해제"),
    "support_ended": _t(
        "The vendor no longer supports the device: plan its replacement.",
        "제조사 기술지원이 끝났습니다. 교체를 계획하세요.",
        "support alert cleared", "기술지원 경보 해제"),
    "support_ending": _t(
        "The vendor's support for the device ends soon.",
        "제조사 기술지원이 곧 끝납니다.",
        "support alert cleared", "기술지원 경보 해제"),
    **_contract_texts(),
}


def rule_text(rule: str) -> RuleText | None:
    """The texts of `rule`, or None for a rule this table does not know."""
    return RULE_TEXTS.get(rule)
