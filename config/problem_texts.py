"""Every configuration, inventory and sheet problem in English and Korean, by kind.

One entry per kind of `config.messages.Message`: its English template (what the tests,
the logs and the docs have always read, kept byte for byte) and its Korean one. `{name}`
is a value of the message, already as it is shown (a value from the file quoted and cut
short); a template may leave out a value the other language needs (`{article}` is
English only). Terms follow agent/cli/words.py: 장비, 상위 장비, 확인(ack), 무음, 수집.
A test checks that every kind the schema raises and every pydantic error kind
config/schema_errors.py words has both texts, and that both use the same values.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProblemText:
    """One kind's templates."""

    en: str
    ko: str


def _texts(**entries: tuple[str, str]) -> dict[str, ProblemText]:
    return {kind: ProblemText(en, ko) for kind, (en, ko) in entries.items()}


_VALUES = _texts(
    not_a_date=("not a date: {value} (write YYYY-MM-DD)",
                "날짜가 아닙니다: {value} (YYYY-MM-DD로 쓰십시오)"),
    date_out_of_range=(
        "{date} is outside the dates Lifeline accepts ({earliest} to {latest}); leave it "
        "out when there is no date",
        "{date}: Lifeline이 받는 날짜 범위({earliest} ~ {latest}) 밖입니다. 날짜가 없으면 "
        "이 키를 빼십시오"),
    date_out_of_window=("{date} is outside the dates Lifeline accepts ({earliest} to {latest})",
                        "{date}: Lifeline이 받는 날짜 범위({earliest} ~ {latest}) 밖입니다"),
    not_a_year=("not a year: {value}", "연도가 아닙니다: {value}"),
    not_a_duration=("not a duration: {value} (write e.g. 30s, 5m, 2h)",
                    "시간 길이가 아닙니다: {value} (30s, 5m, 2h처럼 쓰십시오)"),
    duration_too_long=("too long: {value} (at most {days}d, ten years)",
                       "너무 깁니다: {value} (최대 {days}d, 10년)"),
    not_whole=("not a whole number: {value}", "정수가 아닙니다: {value}"),
    not_a_number=("not a number: {value}", "숫자가 아닙니다: {value}"),
    not_bool=("not true or false: {value}", "true나 false가 아닙니다: {value}"),
    not_text=("not text: {value}", "문자열이 아닙니다: {value}"),
    bad_identifier=("not a valid identifier or value: {value}",
                    "올바른 식별자나 값이 아닙니다: {value}"),
    text_too_long=("longer than {limit} characters", "{limit}자를 넘습니다"),
    not_a_list=("must be a list, not {type}", "목록이어야 합니다 (지금은 {type})"),
    not_keys=("must be a mapping of keys, not {type}",
              "키: 값 형식의 매핑이어야 합니다 (지금은 {type})"),
    not_a_mapping=("must be a mapping, not {type}", "매핑이어야 합니다 (지금은 {type})"),
    one_of=("must be one of {choices}: got {value}",
            "다음 중 하나여야 합니다: {choices} (적힌 값: {value})"),
    not_allowed=("not one of the allowed values: {value}", "허용된 값이 아닙니다: {value}"),
    at_least=("must be at least {bound}: got {value}",
              "{bound} 이상이어야 합니다 (적힌 값: {value})"),
    more_than=("must be more than {bound}: got {value}",
               "{bound}보다 커야 합니다 (적힌 값: {value})"),
    at_most=("must be at most {bound}: got {value}",
             "{bound} 이하여야 합니다 (적힌 값: {value})"),
    less_than=("must be less than {bound}: got {value}",
               "{bound}보다 작아야 합니다 (적힌 값: {value})"),
    not_valid_here=("not a valid value here ({kind}): {value}",
                    "여기에 쓸 수 없는 값입니다 ({kind}): {value}"),
    unknown_key=("unknown key {key}{hint}", "알 수 없는 키 {key}{hint}"),
    missing_key=("required key is missing", "필수 키가 없습니다"),
    did_you_mean=(" (did you mean {choice}?)", " (혹시 {choice}?)"),
    none=("", ""),
)

_SCHEMA = _texts(
    inline_secret=(
        "secret written inline in {name}: use {name}_env (an environment variable) or "
        "{name}_file (a file) instead",
        "{name}에 비밀값이 그대로 적혀 있습니다: 대신 {name}_env(환경 변수)나 "
        "{name}_file(파일)을 쓰십시오"),
    two_sources=("give {name}_env or {name}_file, not both",
                 "{name}_env와 {name}_file 중 하나만 쓰십시오"),
    two_usernames=("give one of username, username_env and username_file, not {keys}",
                   "username, username_env, username_file 중 하나만 쓰십시오 "
                   "(적힌 키: {listed})"),
    not_listen_address=(
        "must be an IP HOST:PORT such as 127.0.0.1:9108, [::1]:9108 or 0.0.0.0:9108, "
        "got {value}",
        "IP HOST:PORT 형식이어야 합니다 (예: 127.0.0.1:9108, [::1]:9108, 0.0.0.0:9108): "
        "{value}"),
    not_listen=("must be an IPv4 HOST:PORT such as 127.0.0.1:162 or 0.0.0.0:162, got {value}",
                "IPv4 HOST:PORT 형식이어야 합니다 (예: 127.0.0.1:162, 0.0.0.0:162): {value}"),
    not_for_api=("{key} is for api: {api} only (this is api: {this})",
                 "{key}은(는) api: {api} 전용입니다 (여기는 api: {this})"),
    missing_bucket=("api: v2 needs a bucket", "api: v2에는 bucket이 필요합니다"),
    missing_database=("api: v1 needs a database", "api: v1에는 database가 필요합니다"),
    years_and_rules=("give either years or rules, not both",
                     "years와 rules 중 하나만 쓰십시오"),
    missing_community=("SNMP v{version} needs community_env or community_file",
                       "SNMP v{version}에는 community_env나 community_file이 필요합니다"),
    missing_user=("SNMPv3 needs a user", "SNMPv3에는 user가 필요합니다"),
    missing_auth_key=("auth_protocol needs auth_key_env or auth_key_file",
                      "auth_protocol에는 auth_key_env나 auth_key_file이 필요합니다"),
    priv_without_auth=("priv_protocol needs an auth_protocol too (authPriv)",
                       "priv_protocol을 쓰려면 auth_protocol도 필요합니다 (authPriv)"),
    missing_priv_key=("priv_protocol needs priv_key_env or priv_key_file",
                      "priv_protocol에는 priv_key_env나 priv_key_file이 필요합니다"),
    expectation_not_text=("not text: {value}", "문자열이 아닙니다: {value}"),
    expectation_form=(
        "not PATH OP VALUE: {value} (e.g. 'printer.paper == \"ok\"', 'uptime_s > 60')",
        "PATH OP VALUE 형식이 아닙니다: {value} (예: 'printer.paper == \"ok\"', "
        "'uptime_s > 60')"),
    expectation_literal=("{value}: {literal} is not a JSON value (quote text: \"ok\")",
                         "{value}: {literal}은(는) JSON 값이 아닙니다 (문자열은 \"ok\"처럼 "
                         "따옴표로 묶으십시오)"),
    expectation_compound=("{value}: compare with a number, text, true, false or null",
                          "{value}: 숫자, 문자열, true, false, null과만 비교할 수 있습니다"),
    expectation_ordering=("{value}: {op} needs a number or text to compare with",
                          "{value}: {op}는 숫자나 문자열과 비교해야 합니다"),
    bad_regex=("not a regular expression: {value} ({why})",
               "정규 표현식이 아닙니다: {value} ({why})"),
    missing_address=("{article} {protocol} poll needs an address",
                     "{protocol} 수집에는 address가 필요합니다"),
    missing_url=("an http poll needs a url", "http 수집에는 url이 필요합니다"),
    port_needed=("a tcp poll needs host:port, e.g. 127.0.0.1:554 (RTSP), got {value}",
                 "tcp 수집에는 host:port가 필요합니다 (예: 127.0.0.1:554, RTSP): {value}"),
    port_not_allowed=(
        "an icmp poll pings a host: no port (IPv6 as [::1] or ::1), got {value}",
        "icmp 수집은 호스트에 ping만 보내므로 포트를 쓰지 않습니다 (IPv6는 [::1] 또는 ::1): "
        "{value}"),
    not_for_protocol=("{key} is for protocol {protocol} only",
                      "{key}은(는) protocol {protocol} 전용입니다"),
    bad_address=("not a host[:port] address: {value} (IPv6 as [::1]:161)",
                 "host[:port] 형식의 주소가 아닙니다: {value} (IPv6는 [::1]:161처럼)"),
    bad_url=("not an http(s) URL: {value}", "http(s) URL이 아닙니다: {value}"),
    channel_without_url=("a {type} channel needs a url", "{type} 채널에는 url이 필요합니다"),
    missing_email=("an email channel needs smtp, from and to",
                   "email 채널에는 smtp, from, to가 필요합니다"),
    not_for_channel=("generator_url is for an alertmanager channel, not {type}",
                     "generator_url은 alertmanager 채널 전용입니다 ({type} 채널에는 쓸 수 "
                     "없습니다)"),
    bad_generator_url=(
        "generator_url must be an absolute http(s) URL such as "
        "https://console.example/lifeline, got {value}",
        "generator_url은 https://console.example/lifeline 같은 절대 http(s) URL이어야 "
        "합니다: {value}"),
    not_an_address=("not an IP address: {value}", "IP 주소가 아닙니다: {value}"),
    tls_pair=("give tls_cert_file and tls_key_file together",
              "tls_cert_file과 tls_key_file은 함께 쓰십시오"),
    missing_dsn=("give dsn_env or dsn_file: the PostgreSQL connection string, never "
                 "written in the file",
                 "dsn_env나 dsn_file을 쓰십시오: PostgreSQL 접속 문자열은 파일에 직접 쓰지 "
                 "않습니다"),
    renew_vs_lease=("renew ({renew}s) must be at most half the lease ({lease}s)",
                    "renew({renew}s)는 lease({lease}s)의 절반 이하여야 합니다"),
)

_FILES = _texts(
    no_such_file=("no such file", "파일이 없습니다"),
    is_a_directory=("is a directory, not a file", "파일이 아니라 디렉터리입니다"),
    cannot_read=("cannot read: {why}", "읽을 수 없습니다: {why}"),
    not_regular=("not a regular file (a {what})", "일반 파일이 아닙니다 ({what_ko})"),
    file_too_big=("larger than {mib} MiB: not read (split it into smaller files)",
                  "{mib} MiB보다 커서 읽지 않았습니다 (작은 파일 여러 개로 나누십시오)"),
    not_utf8=("not UTF-8 text (save the file as UTF-8)",
              "UTF-8 텍스트가 아닙니다 (UTF-8로 저장하십시오)"),
    malformed_yaml=("malformed YAML: {why}", "YAML 형식이 잘못되었습니다: {why}"),
    too_deep=("YAML nested too deeply (more than {depth} levels)",
              "YAML 중첩이 너무 깊습니다 ({depth}단계 초과)"),
    not_ours=("not a Lifeline file: none of its top-level keys is one Lifeline reads "
              "({sections})",
              "Lifeline 설정 파일이 아닙니다: 최상위 키 중 Lifeline이 읽는 키가 없습니다 "
              "({sections})"),
    recursive_alias=("recursive YAML alias", "자기 자신을 가리키는 YAML 별칭(alias)입니다"),
    aliases_repeat_too_much=(
        "YAML aliases repeat more than {ratio} times the values the file writes: refused "
        "(aliases of aliases can make billions of values; write the values out)",
        "YAML 별칭(alias)이 파일에 쓴 값의 {ratio}배가 넘는 값을 반복합니다: 읽지 않습니다 "
        "(별칭의 별칭은 값을 수십억 개로 늘릴 수 있습니다; 값을 직접 쓰십시오)"),
    merge_key=("YAML merge keys (<<) are not supported",
               "YAML 병합 키(<<)는 지원하지 않습니다"),
    key_not_plain=("a key must be a plain value", "키는 단순한 값이어야 합니다"),
    duplicate_key=("duplicate key {key}", "키가 중복됩니다: {key}"),
    too_many_files=("more than {limit} files included",
                    "include한 파일이 {limit}개를 넘습니다"),
    not_a_directory=("not a directory: {value}", "디렉터리가 아닙니다: {value}"),
    not_sections=("the file must be a mapping of sections (agent, devices, ...), not a {type}",
                  "파일은 섹션(agent, devices, ...)의 매핑이어야 합니다 (지금은 {type})"),
    main_only=("'{section}' belongs in the main configuration file, not an include",
               "'{section}'은(는) include한 파일이 아니라 주 설정 파일에 써야 합니다"),
    include_no_match=("include {pattern} matches no file (relative to {base})",
                      "include {pattern}에 맞는 파일이 없습니다 ({base} 기준)"),
    include_outside=(
        "include {pattern} reaches outside the configuration's directory ({count} file{s} "
        "not read); the main file may allow another directory with include_roots",
        "include {pattern}이(가) 설정 디렉터리 밖을 가리킵니다 (파일 {count}개를 읽지 "
        "않았습니다). 다른 디렉터리는 주 설정 파일의 include_roots로 허용할 수 있습니다"),
)

_INVENTORY = _texts(
    duplicate_credentials=("credentials {name} already defined at {where}",
                           "credentials {name}이(가) 이미 {where}에 정의되어 있습니다"),
    unknown_timezone=("unknown timezone {value} (use an IANA name such as Asia/Seoul)",
                      "알 수 없는 시간대 {value} (Asia/Seoul 같은 IANA 이름을 쓰십시오)"),
    duplicate_channel=("duplicate channel name {name}", "채널 이름이 중복됩니다: {name}"),
    unknown_channel=("unknown channel {name}{hint}", "알 수 없는 채널 {name}{hint}"),
    reachable_console=(
        "{listen} is reachable beyond this machine: set console.users_file or "
        "console.proxy_user_header so that people log in (docs/console.md), or listen on "
        "127.0.0.1",
        "{listen}은(는) 이 서버 밖에서도 접속할 수 있습니다: 로그인하도록 "
        "console.users_file이나 console.proxy_user_header를 설정하거나(docs/console.md) "
        "127.0.0.1에서 대기하십시오"),
    writable_console=(
        "read_only: false needs console.users_file or console.proxy_user_header: every ack "
        "and silence is recorded with who made it",
        "read_only: false에는 console.users_file이나 console.proxy_user_header가 "
        "필요합니다: 확인(ack)과 무음은 모두 누가 했는지와 함께 기록됩니다"),
    category_needs_years=("a category needs years or rules",
                          "분류에는 years나 rules가 필요합니다"),
    one_undated_rule=("only one rule may lack effective_from",
                      "effective_from이 없는 규칙은 하나만 둘 수 있습니다"),
    same_effective_from=("two rules with the same effective_from",
                         "effective_from이 같은 규칙이 둘 있습니다"),
    unknown_new_category=("unknown category {key}{hint}; a new category needs name_ko or "
                          "name_en",
                          "알 수 없는 분류 {key}{hint}: 새 분류에는 name_ko나 name_en이 "
                          "필요합니다"),
    duplicate_id=("duplicate id {id} (first at {first})",
                  "id가 중복됩니다: {id} (처음 나온 곳: {first})"),
    unknown_category=("unknown category {value}{hint}", "알 수 없는 분류 {value}{hint}"),
    unknown_parent=("unknown parent {value}{hint}", "알 수 없는 상위 장비 {value}{hint}"),
    own_parent=("a device cannot be its own parent",
                "장비는 자기 자신의 상위 장비가 될 수 없습니다"),
    bad_hours=("{why}", "운영시간을 읽을 수 없습니다: {why}"),
    replaced_before_acquired=("{year} is before the year it was acquired ({acquired})",
                              "{year}년은 도입 연도({acquired}년)보다 앞섭니다"),
    before_acquired=("{value} is before acquired ({acquired})",
                     "{value}은(는) 도입일 acquired({acquired})보다 앞섭니다"),
    ping_too_long=(
        "a ping takes (count - 1) x ping_interval + timeout = {deadline}s, not less than "
        "its interval {interval}s: lower count, ping_interval or timeout, or raise interval",
        "ping 한 번에 (count - 1) x ping_interval + timeout = {deadline}s가 걸려 수집 간격 "
        "{interval}s보다 짧지 않습니다: count, ping_interval, timeout을 줄이거나 interval을 "
        "늘리십시오"),
    request_too_long=(
        "one request can take timeout x attempts = {timeout}s x {attempts} = {total}s, not "
        "less than its interval {interval}s: lower timeout or retries, or raise interval",
        "요청 한 번에 timeout x 시도 횟수 = {timeout}s x {attempts} = {total}s가 걸릴 수 "
        "있어 수집 간격 {interval}s보다 짧지 않습니다: timeout이나 retries를 줄이거나 "
        "interval을 늘리십시오"),
    unknown_credentials=("unknown credentials {name}{hint}",
                         "알 수 없는 credentials {name}{hint}"),
    not_snmp_credentials=("credentials {name} are not SNMP credentials",
                          "credentials {name}은(는) SNMP 인증 정보가 아닙니다"),
    not_http_credentials=("credentials {name} are not HTTP credentials",
                          "credentials {name}은(는) HTTP 인증 정보가 아닙니다"),
    snmp_needs_credentials=("an snmp poll needs credentials (a key of credentials:)",
                            "snmp 수집에는 credentials가 필요합니다 (credentials:의 키)"),
    parent_cycle=("parent cycle: {cycle}", "상위 장비가 순환합니다: {cycle}"),
    category_in_project=("category {key} is already in project {project}",
                         "분류 {key}은(는) 이미 사업 {project}에 들어 있습니다"),
    category_capped_in_project=("category {key} is in project {project}: give its cap there",
                                "분류 {key}은(는) 사업 {project}에 들어 있습니다: 상한은 그 "
                                "사업에 쓰십시오"),
    unknown_device=("unknown device {id}{hint}", "알 수 없는 장비 {id}{hint}"),
)

_SHEET = _texts(
    sheet_row=("row {row}", "{row}행"),
    sheet_column=("column {column}", "{column} 열"),
    not_a_sheet=("not a .csv or .xlsx file{hint}", ".csv나 .xlsx 파일이 아닙니다{hint}"),
    save_as_xlsx=(" (save it as .xlsx or .csv)", " (.xlsx나 .csv로 저장하십시오)"),
    cannot_decode=("cannot decode: neither UTF-8 nor CP949 (EUC-KR); save the sheet as "
                   "'CSV UTF-8' and try again",
                   "문자 인코딩을 알 수 없습니다: UTF-8도 CP949(EUC-KR)도 아닙니다. "
                   "'CSV UTF-8'로 저장한 뒤 다시 하십시오"),
    not_csv=("cannot be read as CSV ({why})", "CSV로 읽을 수 없습니다 ({why})"),
    cell_too_long=("a cell of {length} characters; at most {limit} are taken (is this the "
                   "asset sheet?)",
                   "셀 하나가 {length}자입니다: {limit}자까지만 받습니다 (자산 대장 파일이 "
                   "맞습니까?)"),
    not_xlsx=("not a readable xlsx workbook ({why})", "읽을 수 있는 xlsx 파일이 아닙니다 ({why})"),
    missing_columns=("missing required column(s): {columns}", "필수 열이 없습니다: {columns}"),
    not_an_amount=("not an amount of money: {value}", "금액이 아닙니다: {value}"),
    not_won=("not a whole, non-negative amount of won: {value}",
             "0 이상의 원 단위 정수 금액이 아닙니다: {value}"),
    not_a_cell_date=("not a date: {value}", "날짜가 아닙니다: {value}"),
    not_a_month=("not a month: {value}", "월이 아닙니다: {value}"),
    not_year_or_date=("not a year or date: {value} (write e.g. 2008, 2008년, 2008.03. or "
                      "2008-03-01)",
                      "연도나 날짜가 아닙니다: {value} (2008, 2008년, 2008.03., 2008-03-01처럼 "
                      "쓰십시오)"),
    not_plausible_year=("not a plausible year: {value}", "있을 수 없는 연도입니다: {value}"),
    not_a_last_day=("not a date: {value} (write YYYY-MM-DD or YYYY.MM.)",
                    "날짜가 아닙니다: {value} (YYYY-MM-DD나 YYYY.MM.으로 쓰십시오)"),
    not_hours=("not opening hours: {value} (write e.g. 매일 10:00~24:00, 평일 09:00~18:00 or "
               "24시간)",
               "운영시간이 아닙니다: {value} (매일 10:00~24:00, 평일 09:00~18:00, 24시간처럼 "
               "쓰십시오)"),
    no_name=("empty: every row needs a name (품명)", "비어 있습니다: 모든 행에 품명이 필요합니다"),
    quantity_below_one=("must be 1 or more: {value}", "1 이상이어야 합니다: {value}"),
    protocol_without_address=("a protocol without an address (관리IP)",
                              "관리IP 없이 수집 방식만 적혀 있습니다"),
    sheet_protocol=("{value}: only icmp or tcp come from a sheet (snmp needs credentials, "
                    "http a url: write those in YAML)",
                    "{value}: 시트에서는 icmp와 tcp만 받습니다 (snmp는 credentials, http는 url이 "
                    "필요하므로 YAML에 쓰십시오)"),
    not_a_host=("not an IP address or host name: {value}",
                "IP 주소나 호스트 이름이 아닙니다: {value}"),
    ping_no_port=("{value}: a ping needs no port", "{value}: ping에는 포트가 필요 없습니다"),
    tcp_needs_port=("{value}: a tcp check needs host:port (e.g. 10.1.2.3:554)",
                    "{value}: tcp 점검에는 host:port가 필요합니다 (예: 10.1.2.3:554)"),
    no_category=("empty: every row needs a category (구분)",
                 "비어 있습니다: 모든 행에 구분이 필요합니다"),
    year_disagrees=("{year} disagrees with {header} {date}",
                    "{year}년이 {header} {date}와 맞지 않습니다"),
    total_not_multiple=("{total} won is not a multiple of the quantity {quantity}; give a "
                        "unit cost (단가)",
                        "{total}원이 수량 {quantity}으로 나누어떨어지지 않습니다: 단가를 "
                        "쓰십시오"),
    unknown_criticality=("unknown criticality {value} (critical, high, normal, low or 최상, "
                         "상, 중, 하)",
                         "알 수 없는 중요도 {value} (최상, 상, 중, 하 또는 critical, high, "
                         "normal, low)"),
    duplicate_row_id=("duplicate id {id} (also row {row})",
                      "id가 중복됩니다: {id} ({row}행에도 있습니다)"),
    no_rows=("no rows below the header", "머리글 아래에 행이 없습니다"),
)

TEXTS: Mapping[str, ProblemText] = {**_VALUES, **_SCHEMA, **_FILES, **_INVENTORY, **_SHEET}
