"""Identifier normalization: raw values -> comparable values, or a reason why a value is no identifier.

Each DISTINCT raw value (per type, and per region for phones) is normalized once and the result is
broadcast back, because identity inputs repeat the same email/phone on many orders and receipts.

Phones take a vectorized fast path for the common, unambiguous shapes (``+CC…``, ``00CC…``, national
``0…`` in a region with a plain trunk prefix); its validity check replays the ``phonenumbers`` metadata
(possible lengths + national number patterns, region selection by leading digits) with pandas regexes.
Anything the fast path does not accept - including every invalid value, so reasons stay exact - goes
through ``phonenumbers.parse`` one distinct value at a time."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata

from voyado_sync.identity.keys import as_text, str_array
from voyado_sync.identity.rules import IdentityRules

OK, INVALID, BLOCKED = "ok", "invalid", "blocked"
STATUSES = [OK, INVALID, BLOCKED]
_OK, _INVALID, _BLOCKED = range(3)    # their codes (positions in STATUSES)

_EMAIL_RE = (r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
             r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
_PHONE_SEPARATORS = r"[\s\-().\/\x{00a0}]"
# What Python's str.isspace() calls space, for RE2 (whose \s is ASCII only).
_SPACES = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+"
_NULL = pa.scalar(None, pa.large_string())
_PLUS, _EMPTY = pa.scalar("+", pa.large_string()), pa.scalar("", pa.large_string())
_UPPER_TYPES = {"member_number", "card_id", "customer_number"}
_LOWER_TYPES = {"ct_customer_id", "voyado_contact_id"}
_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
               "voicemail", "fixed_line", "mobile")


def normalize_identifiers(df: pd.DataFrame, rules: IdentityRules) -> pd.DataFrame:
    """Add ``value`` (normalized or None), ``status`` (ok/invalid/blocked) and ``reason`` to a frame
    with ``id_type``, ``raw_value`` and ``country`` columns. Never raises on bad values."""
    n = len(df)
    # Each row's value is an index into the distinct normalized values of its type (-1 = none); the
    # column is then one Arrow ``take``, never a million Python string references.
    value_code = np.full(n, -1, dtype=np.int64)
    distinct_values: list[pa.Array] = []
    n_distinct = 0
    status = np.zeros(n, dtype=np.int8)
    reason = np.full(n, -1, dtype=np.int32)
    reasons: list[str] = []
    tc, tu = pd.factorize(df["id_type"])
    rc, ru = pd.factorize(df["raw_value"])
    # The distinct raw texts stay one Arrow array; the last slot stands for a missing raw value.
    raw_u = pa.concat_arrays([as_text(ru), pa.nulls(1, pa.large_string())])
    rc = np.where(rc < 0, len(ru), rc).astype(np.int64)
    if "country" in df.columns:
        cc, cu = pd.factorize(df["country"])
        region_u = np.append(_regions(np.asarray(cu, dtype=object), rules.default_region), rules.default_region)
    else:
        cc, region_u = np.full(n, -1), np.array([rules.default_region], dtype=object)
    for k, id_type in enumerate(tu):
        idx = np.flatnonzero(tc == k)
        if id_type == "phone":
            m = len(region_u)
            codes, uk = pd.factorize(rc[idx] * m + np.where(cc[idx] < 0, m - 1, cc[idx]))
            uniq_raw = raw_u.take(uk // m)
            text, empty = _trimmed(uniq_raw)
            v, st, r = _phones(text, empty, region_u[uk % m])
        else:
            codes, uk = pd.factorize(rc[idx])
            uniq_raw = raw_u.take(uk)
            text, empty = _trimmed(uniq_raw)
            v, st, r = (_emails(text, empty, rules) if id_type == "email"
                        else _plain_ids(text, empty, id_type))
        v, st, r = _apply_blocked(id_type, text, empty, v, st, r, rules)
        rcodes, rnames = pd.factorize(pd.Series(r, dtype=object))
        offset = len(reasons)
        reasons += [str(x) for x in rnames]
        value_code[idx] = codes + n_distinct
        distinct_values.append(v)
        n_distinct += len(v)
        status[idx] = st[codes]
        reason[idx] = np.where(rcodes < 0, -1, rcodes + offset)[codes]
    names, remap = np.unique(np.asarray(reasons, dtype=object), return_inverse=True) if reasons else ([], [])
    reason = np.where(reason < 0, -1, np.asarray(remap, dtype=np.int32)[np.maximum(reason, 0)] if len(reasons) else -1)
    uniq = pa.concat_arrays(distinct_values) if distinct_values else pa.array([], pa.large_string())
    value = (str_array(uniq.take(pa.array(value_code, mask=value_code < 0))) if n
             else np.array([], dtype=object))
    return df.assign(value=value, status=pd.Categorical.from_codes(status, categories=STATUSES),
                     reason=pd.Categorical.from_codes(reason, categories=list(names)))


def _regions(countries: np.ndarray, default: str) -> np.ndarray:
    c = pd.Series(countries, dtype=object).fillna("").astype(str).str.strip().str.upper()
    known = c.isin(_supported_regions())
    return np.where(known, c, default).astype(object)


@lru_cache(maxsize=1)
def _supported_regions() -> frozenset[str]:
    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _trimmed(raw: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Stripped text (missing -> "") and a mask of values that are missing or blank."""
    text = pc.utf8_trim_whitespace(raw.fill_null("") if raw.null_count else raw)
    return text, _np(pc.equal(pc.binary_length(text), 0))


def _codes(flags: np.ndarray, yes: int, no: int) -> np.ndarray:
    return np.where(flags, yes, no).astype(np.int8)


def _plain_ids(text: pa.Array, empty: np.ndarray, id_type: str):
    if id_type in _UPPER_TYPES:
        text = pc.utf8_upper(pc.replace_substring_regex(text, _SPACES, ""))
    elif id_type in _LOWER_TYPES:
        text = pc.utf8_lower(text)
    value = pc.if_else(pa.array(empty), _NULL, text)
    return value, _codes(empty, _INVALID, _OK), np.where(empty, "empty", None).astype(object)


def _emails(text: pa.Array, empty: np.ndarray, rules: IdentityRules):
    low = pc.utf8_lower(text)
    valid = _np(pc.match_substring_regex(low, f"^(?:{_EMAIL_RE})$")) & ~empty
    if rules.email_folding.enabled and rules.email_folding.providers:
        low = pa.array(_fold(pd.Series(_np(low), dtype=object), rules).to_numpy(dtype=object), pa.large_string(),
                       from_pandas=True)   # a value without "@" folds to NaN (it is invalid anyway)
    value = pc.if_else(pa.array(valid), low, _NULL)
    reason = np.where(empty, "empty", np.where(valid, None, "malformed_email")).astype(object)
    return value, _codes(valid, _OK, _INVALID), reason


def _fold(emails: pd.Series, rules: IdentityRules) -> pd.Series:
    parts = emails.str.rsplit("@", n=1, expand=True)
    if parts.shape[1] < 2:
        return emails
    local, domain = parts[0], parts[1]
    for dom, opt in rules.email_folding.providers.items():
        hit = (domain == dom.lower()).to_numpy()
        if not hit.any():
            continue
        loc = local[hit]
        if opt.plus:
            loc = loc.str.split("+", n=1).str[0]
        if opt.dots:
            loc = loc.str.replace(".", "", regex=False)
        local[hit] = loc
        if opt.canonical_domain:
            domain[hit] = opt.canonical_domain.lower()
    return local.where(local.isna(), local + "@" + domain)


def _apply_blocked(id_type, text: pa.Array, empty: np.ndarray, value: pa.Array, status: np.ndarray,
                   reason: np.ndarray, rules: IdentityRules):
    """Blocked values are matched on the normalized value, or on the trimmed raw value when there is
    no normalized one (so "n/a" or "000-000" are blocked rather than merely invalid)."""
    exact, regexes, exact_reason = rules.blocked_for(id_type)
    if not exact and not regexes:
        return value, status, reason
    target = pc.if_else(pc.is_valid(value), value, text)
    status, reason = status.copy(), reason.copy()
    if exact:
        names = sorted(exact)
        at = _np(pc.index_in(pc.utf8_lower(target), value_set=pa.array(names, pa.large_string())).fill_null(-1))
        hit = (at >= 0) & ~empty
        status[hit] = _BLOCKED
        reason[hit] = np.asarray([exact_reason[x] for x in names], dtype=object)[at[hit]]
    for rx, why in regexes:
        pos = np.flatnonzero((status != _BLOCKED) & ~empty)
        if not len(pos):
            break
        sub = target.take(pos)
        try:  # RE2 (vectorized) when the pattern allows it, Python's re otherwise (e.g. backreferences)
            hit = _np(pc.match_substring_regex(sub, rx.pattern, ignore_case=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Python's re runs per value: once per distinct target (raw forms of one phone share it).
            enc = sub.dictionary_encode()
            hit = np.array([rx.search(x) is not None for x in enc.dictionary.to_pylist()],
                           dtype=bool)[_np(enc.indices)]
        status[pos[hit]] = _BLOCKED
        reason[pos[hit]] = why
    return pc.if_else(pa.array(status == _BLOCKED), _NULL, value), status, reason


# ---------------------------------------------------------------- phones
def _phones(text: pa.Array, empty: np.ndarray, region: np.ndarray):
    cleaned = pc.replace_substring_regex(text, _PHONE_SEPARATORS, "")
    value = _fast_e164(cleaned, region)
    fast = _np(pc.is_valid(value))
    status = _codes(fast, _OK, _INVALID)
    reason = np.where(empty, "empty", None).astype(object)
    slow = np.flatnonzero(~fast & ~empty)
    if not len(slow):
        return value, status, reason
    # Everything else goes through phonenumbers, once per distinct (cleaned text, region).
    raw_slow, reg_slow = text.take(slow).to_pylist(), region[slow]
    keys = pd.factorize(pd.Series(_np(cleaned.take(slow)), dtype=object) + "\x1f" + reg_slow.astype(str))[0]
    cache: dict[int, tuple] = {}
    slow_values = []
    for i, k in enumerate(keys):
        if k not in cache:
            cache[k] = _slow_phone(raw_slow[i], reg_slow[i])
        v, st, r = cache[k]
        slow_values.append(v)
        status[slow[i]] = STATUSES.index(st)
        reason[slow[i]] = r
    mask = np.zeros(len(status), dtype=bool)
    mask[slow] = True
    return pc.replace_with_mask(value, pa.array(mask), pa.array(slow_values, pa.large_string())), status, reason


def _slow_phone(raw, region: str) -> tuple[str | None, str, str | None]:
    try:
        num = phonenumbers.parse(str(raw), region)
    except phonenumbers.NumberParseException as exc:
        return None, INVALID, f"phone_unparseable:{_parse_error_name(exc)}"
    if not phonenumbers.is_valid_number(num):
        return None, INVALID, "phone_invalid"
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), OK, None


def _parse_error_name(exc: phonenumbers.NumberParseException) -> str:
    names = {0: "invalid_country_code", 1: "not_a_number", 2: "too_short_after_idd", 3: "too_short_nsn",
             4: "too_long"}
    return names.get(exc.error_type, "other")


@lru_cache(maxsize=None)
def _cc_of_region(region: str) -> tuple[int, str | None, bool, bool, str | None] | None:
    """(country code, trunk prefix, plain trunk handling, "00" is exactly how the international
    prefix matches, the international prefix regex) for a region."""
    md = PhoneMetadata.metadata_for_region(region)
    if md is None:
        return None
    intl = md.international_prefix
    exact00 = False
    if intl:
        rx = re.compile(intl)
        exact00 = all((m := rx.match(f"00{d}1234")) is not None and m.group() == "00" for d in "0123456789")
    return md.country_code, md.national_prefix, _plain_trunk(md), exact00, intl


def _plain_trunk(md) -> bool:
    # The fast path only replays prefix stripping when it is a literal prefix without transform rules.
    npfp = md.national_prefix_for_parsing
    return md.national_prefix_transform_rule is None and (npfp is None or npfp == md.national_prefix)


@lru_cache(maxsize=None)
def _cc_plan(cc: int):
    """Regions sharing a country code with their (leading digits, general desc, type descs), or None
    when the main region's trunk-prefix handling is not a plain literal (slow path only)."""
    regions = phonenumbers.region_codes_for_country_code(cc)
    if not regions:
        return None
    main = PhoneMetadata.metadata_for_region(regions[0])
    if main is None or not _plain_trunk(main):
        return None
    plan = []
    for r in regions:
        md = PhoneMetadata.metadata_for_region(r)
        if md is None:
            continue
        descs = [d for d in (getattr(md, name) for name in _TYPE_DESCS) if d is not None]
        plan.append((md.leading_digits if len(regions) > 1 else None, md.general_desc, descs))
    return main.national_prefix, plan


def _rx(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _matches(nsn: pa.Array, desc) -> np.ndarray:
    if desc is None or not desc.national_number_pattern:
        return np.zeros(len(nsn), dtype=bool)
    ok = np.ones(len(nsn), dtype=bool)
    lengths = list(desc.possible_length or ())
    if lengths:
        ok &= np.isin(pc.utf8_length(nsn).to_numpy(zero_copy_only=False), lengths)
    if ok.any():
        pos = np.flatnonzero(ok)
        ok[pos] = pc.match_substring_regex(nsn.take(pos), _rx(desc.national_number_pattern)).to_numpy(
            zero_copy_only=False)
    return ok


def _valid_nsn(nsn: pa.Array, plan) -> np.ndarray:
    """Replays phonenumbers.is_valid_number: pick the region (leading digits or first matching type),
    then require the general desc and one type desc of that region."""
    valid = np.zeros(len(nsn), dtype=bool)
    undecided = np.ones(len(nsn), dtype=bool)
    for leading, general, descs in plan:
        if not undecided.any():
            break
        pos = np.flatnonzero(undecided)
        sub = nsn.take(pos)
        typed = _matches(sub, general)
        if typed.any():
            any_type = np.zeros(len(sub), dtype=bool)
            for d in descs:
                todo = np.flatnonzero(typed & ~any_type)
                if not len(todo):
                    break
                any_type[todo] = _matches(sub.take(todo), d)
            typed &= any_type
        if leading is not None:
            chosen = pc.match_substring_regex(sub, "^(?:" + leading + ")").to_numpy(zero_copy_only=False) | typed
        else:
            chosen = typed
        valid[pos[chosen]] = typed[chosen]
        undecided[pos[chosen]] = False
    return valid


def _np(a) -> np.ndarray:
    return a.to_numpy(zero_copy_only=False)


def _fast_e164(txt: pa.Array, reg: np.ndarray) -> pa.Array:
    """E.164 for values the fast path can prove valid; null elsewhere (-> slow path)."""
    n = len(txt)
    digits_only = _np(pc.match_substring_regex(txt, r"^\+?[0-9]{4,17}$"))
    plus = digits_only & _np(pc.starts_with(txt, "+"))
    starts00 = digits_only & ~plus & _np(pc.starts_with(txt, "00"))
    uregs = pd.unique(reg)
    info = {r: _cc_of_region(r) for r in uregs}
    dbl0 = starts00 & pd.Series(reg).isin([r for r, i in info.items() if i and i[3]]).to_numpy()
    cc_of = np.zeros(n, dtype=np.int64)
    start = np.zeros(n, dtype=np.int64)      # characters before the national significant number
    for skip, rows_ in ((1, plus), (2, dbl0)):
        pos = np.flatnonzero(rows_)
        body = pc.utf8_slice_codeunits(txt.take(pos), skip)
        done = np.zeros(len(pos), dtype=bool)
        for width in (1, 2, 3):
            head = pc.utf8_slice_codeunits(body, 0, width)
            known = ~done & _np(pc.is_in(head, value_set=_country_code_strings()))
            if known.any():
                cc_of[pos[known]] = _np(pc.cast(head.filter(pa.array(known)), pa.int64()))
                start[pos[known]] = skip + width
                done |= known
    national = digits_only & ~plus & ~starts00
    for r in uregs:
        i = info[r]
        if i is None or not i[2] or not i[3]:
            continue
        cc, trunk = i[0], i[1]
        pos = np.flatnonzero(national & (reg == r))
        if not len(pos):
            continue
        sub = txt.take(pos)
        ok = ~_np(pc.starts_with(sub, str(cc)))
        if i[4]:  # a national number must not look like an international prefix to phonenumbers
            try:
                ok &= ~_np(pc.match_substring_regex(sub, f"^(?:{i[4]})"))
            except pa.ArrowInvalid:
                continue
        if trunk:
            ok &= _np(pc.starts_with(sub, trunk))
        cc_of[pos[ok]] = cc
        start[pos[ok]] = len(trunk or "")
    have = np.flatnonzero(cc_of > 0)
    if not len(have):
        return pa.nulls(n, pa.large_string())
    # The NSN of each candidate (sliced per distinct prefix length), then "+CC NSN" deduplicated:
    # each distinct number is validated once.
    pieces, order = [], []
    for s in np.unique(start[have]):
        sel = np.flatnonzero(start[have] == s)
        pieces.append(pc.utf8_slice_codeunits(txt.take(have[sel]), int(s)))
        order.append(sel)
    back = np.empty(len(have), dtype=np.int64)
    back[np.concatenate(order)] = np.arange(len(have))
    nsn = pa.concat_arrays(pieces).take(back)
    ccs = cc_of[have]
    cand = pc.binary_join_element_wise(_PLUS, pc.cast(pa.array(ccs), pa.large_string()), nsn, _EMPTY)
    enc = cand.dictionary_encode()
    codes = _np(enc.indices)
    first = np.full(len(enc.dictionary), len(codes), dtype=np.int64)   # a row holding each candidate
    np.minimum.at(first, codes, np.arange(len(codes)))
    u_cc, u_nsn = ccs[first], nsn.take(first)
    u_valid = np.zeros(len(first), dtype=bool)
    for cc in np.unique(u_cc):
        plan = _cc_plan(int(cc))
        if plan is None:
            continue
        trunk, regions = plan
        sel = np.flatnonzero(u_cc == cc)
        sub = u_nsn.take(sel)
        # A leading zero or trunk prefix left in the NSN needs phonenumbers' own stripping heuristics.
        clean = ~_np(pc.starts_with(sub, "0"))
        if trunk:
            clean &= ~_np(pc.starts_with(sub, trunk))
        sel, sub = sel[clean], sub.filter(pa.array(clean))
        u_valid[sel[_valid_nsn(sub, regions)]] = True
    e164 = pc.if_else(pa.array(u_valid[codes]), cand, _NULL)
    mask = np.zeros(n, dtype=bool)
    mask[have] = True
    return pc.replace_with_mask(pa.nulls(n, pa.large_string()), pa.array(mask), e164)


@lru_cache(maxsize=1)
def _country_code_strings() -> pa.Array:
    return pa.array(sorted(str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if c > 0), pa.large_string())


def is_email(value: str) -> bool:
    return re.fullmatch(_EMAIL_RE, value.strip().lower()) is not None
