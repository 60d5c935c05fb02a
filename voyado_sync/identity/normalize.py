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

from voyado_sync.identity.keys import str_array
from voyado_sync.identity.rules import IdentityRules

OK, INVALID, BLOCKED = "ok", "invalid", "blocked"
STATUSES = [OK, INVALID, BLOCKED]

_EMAIL_RE = (r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
             r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
_PHONE_SEPARATORS = r"[\s\-().\/\x{00a0}]"
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
    distinct_values: list[np.ndarray] = []
    n_distinct = 0
    status = np.full(n, STATUSES.index(OK), dtype=np.int8)
    reason = np.full(n, -1, dtype=np.int32)
    reasons: list[str] = []
    tc, tu = pd.factorize(df["id_type"])
    rc, ru = pd.factorize(df["raw_value"])
    raw_u = np.append(np.asarray(ru, dtype=object), None)   # code -1 (missing) -> None
    if "country" in df.columns:
        cc, cu = pd.factorize(df["country"])
        region_u = np.append(_regions(np.asarray(cu, dtype=object), rules.default_region), rules.default_region)
    else:
        cc, region_u = np.full(n, -1), np.array([rules.default_region], dtype=object)
    for k, id_type in enumerate(tu):
        idx = np.flatnonzero(tc == k)
        if id_type == "phone":
            m = len(region_u)
            key = rc[idx].astype(np.int64) * m + np.where(cc[idx] < 0, m - 1, cc[idx])
            codes, uk = pd.factorize(key)
            uniq_raw, uniq_region = raw_u[uk // m], region_u[uk % m]
            v, st, r = _phones(uniq_raw, uniq_region)
        else:
            codes, uk = pd.factorize(rc[idx])
            uniq_raw = raw_u[uk]
            v, st, r = _emails(uniq_raw, rules) if id_type == "email" else _plain_ids(uniq_raw, id_type)
        v, st, r = _apply_blocked(id_type, uniq_raw, v, st, r, rules)
        rcodes, rnames = pd.factorize(pd.Series(r, dtype=object))
        offset = len(reasons)
        reasons += [str(x) for x in rnames]
        value_code[idx] = codes + n_distinct
        distinct_values.append(v)
        n_distinct += len(v)
        st_code = np.zeros(len(st), dtype=np.int8)
        for i, name in enumerate(STATUSES):
            st_code[st == name] = i
        status[idx] = st_code[codes]
        reason[idx] = np.where(rcodes < 0, -1, rcodes + offset)[codes]
    names, remap = np.unique(np.asarray(reasons, dtype=object), return_inverse=True) if reasons else ([], [])
    reason = np.where(reason < 0, -1, np.asarray(remap, dtype=np.int32)[np.maximum(reason, 0)] if len(reasons) else -1)
    uniq = pa.array(np.concatenate(distinct_values) if distinct_values else np.array([], dtype=object),
                    type=pa.large_string(), from_pandas=True)
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


def _factorize_pairs(raw: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rc, ru = pd.factorize(raw, use_na_sentinel=False)
    gc, gu = pd.factorize(region, use_na_sentinel=False)
    codes, pairs = pd.factorize(rc.astype(np.int64) * (len(gu) + 1) + gc)
    return codes, np.asarray(ru, dtype=object)[pairs // (len(gu) + 1)], np.asarray(gu, dtype=object)[pairs % (len(gu) + 1)]


def _as_text(raw: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Stripped text and a mask of values that are missing/empty."""
    s = pd.Series(raw, dtype=object)
    missing = s.isna().to_numpy()
    text = s.where(~missing, "").astype(str).str.strip()
    return text, missing | (text == "").to_numpy()


def _plain_ids(raw: np.ndarray, id_type: str):
    text, empty = _as_text(raw)
    if id_type in _UPPER_TYPES:
        text = text.str.replace(r"\s+", "", regex=True).str.upper()
    elif id_type in _LOWER_TYPES:
        text = text.str.lower()
    value = text.to_numpy(dtype=object)
    status = np.where(empty, INVALID, OK).astype(object)
    reason = np.where(empty, "empty", None).astype(object)
    value[empty] = None
    return value, status, reason


def _emails(raw: np.ndarray, rules: IdentityRules):
    text, empty = _as_text(raw)
    low = text.str.lower()
    valid = low.str.fullmatch(_EMAIL_RE).to_numpy(dtype=bool) & ~empty
    if rules.email_folding.enabled and rules.email_folding.providers:
        low = _fold(low, rules)
    value = np.where(valid, low.to_numpy(dtype=object), None).astype(object)
    status = np.where(valid, OK, INVALID).astype(object)
    reason = np.where(empty, "empty", np.where(valid, None, "malformed_email")).astype(object)
    return value, status, reason


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


def _apply_blocked(id_type, raw, value, status, reason, rules: IdentityRules):
    """Blocked values are matched on the normalized value, or on the trimmed raw value when there is
    no normalized one (so "n/a" or "000-000" are blocked rather than merely invalid)."""
    exact, regexes, exact_reason = rules.blocked_for(id_type)
    if not exact and not regexes:
        return value, status, reason
    raw_text, empty = _as_text(raw)
    has_norm = pd.notna(value)
    target = np.where(has_norm, value, raw_text.to_numpy(dtype=object)).astype(object)
    target_low = pd.Series(target, dtype=object).str.lower()
    status, reason = status.copy(), reason.copy()
    if exact:
        hit = target_low.isin(exact).to_numpy() & ~empty
        if hit.any():
            status[hit] = BLOCKED
            reason[hit] = [exact_reason[c] for c in target_low.to_numpy()[hit]]
    arr = pa.array(target, type=pa.string())
    for rx, why in regexes:
        open_ = (status != BLOCKED) & ~empty
        if not open_.any():
            break
        pos = np.flatnonzero(open_)
        hit = np.zeros(len(raw), dtype=bool)
        try:  # RE2 (vectorized) when the pattern allows it, Python's re otherwise (e.g. backreferences)
            hit[pos] = _np(pc.match_substring_regex(arr.take(pos), rx.pattern, ignore_case=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Python's re runs per value: once per distinct target (raw forms of one phone share it).
            codes, uniq = pd.factorize(target[pos])
            hit[pos] = np.array([rx.search(x) is not None for x in uniq], dtype=bool)[codes]
        status[hit] = BLOCKED
        reason[hit] = why
    value = value.copy()
    value[status == BLOCKED] = None
    return value, status, reason


# ---------------------------------------------------------------- phones
def _phones(raw: np.ndarray, region: np.ndarray):
    n = len(raw)
    value = np.full(n, None, dtype=object)
    status = np.full(n, INVALID, dtype=object)
    reason = np.full(n, None, dtype=object)
    text, empty = _as_text(raw)
    reason[empty] = "empty"
    cleaned = pd.Series(_np(pc.replace_substring_regex(pa.array(text.to_numpy(dtype=object), type=pa.string()),
                                                        _PHONE_SEPARATORS, "")), dtype=object)
    e164 = _fast_e164(cleaned, pd.Series(region, dtype=object))
    fast = e164.notna().to_numpy() & ~empty
    value[fast] = e164.to_numpy(dtype=object)[fast]
    status[fast] = OK
    slow = np.flatnonzero(~fast & ~empty)
    if len(slow):
        keys = pd.factorize(cleaned.to_numpy(dtype=object)[slow] + "\x1f" + region[slow].astype(str))[0]
        cache: dict[int, tuple] = {}
        for pos, k in zip(slow, keys):
            if k not in cache:
                cache[k] = _slow_phone(raw[pos], region[pos])
            value[pos], status[pos], reason[pos] = cache[k]
    return value, status, reason


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


def _fast_e164(cleaned: pd.Series, region: pd.Series) -> pd.Series:
    """E.164 for values the fast path can prove valid; None elsewhere (-> slow path)."""
    n = len(cleaned)
    out = np.full(n, None, dtype=object)
    txt = pa.array(cleaned.to_numpy(dtype=object), type=pa.string())
    reg = region.to_numpy(dtype=object)
    digits_only = _np(pc.match_substring_regex(txt, r"^\+?[0-9]{4,17}$"))
    plus = digits_only & _np(pc.starts_with(txt, "+"))
    starts00 = digits_only & ~plus & _np(pc.starts_with(txt, "00"))
    uregs = pd.unique(reg)
    info = {r: _cc_of_region(r) for r in uregs}
    intl00 = pd.Series(reg).isin([r for r, i in info.items() if i and i[3]]).to_numpy()
    dbl0 = starts00 & intl00
    cc_of = np.zeros(n, dtype=np.int64)
    nsn_of = np.full(n, None, dtype=object)
    intl = plus | dbl0
    if intl.any():
        pos = np.flatnonzero(intl)
        body = _np(pc.utf8_slice_codeunits(txt.take(pos), 1))
        body = np.where(dbl0[pos], _np(pc.utf8_slice_codeunits(txt.take(pos), 2)), body)
        body_a = pa.array(body, type=pa.string())
        done = np.zeros(len(pos), dtype=bool)
        for width in (1, 2, 3):
            head = _np(pc.utf8_slice_codeunits(body_a, 0, width))
            known = ~done & pd.Series(head).isin(_country_code_strings()).to_numpy()
            if known.any():
                rest = _np(pc.utf8_slice_codeunits(body_a, width))
                cc_of[pos[known]] = head[known].astype(np.int64)
                nsn_of[pos[known]] = rest[known]
                done |= known
    national = digits_only & ~plus & ~starts00
    for r in uregs:
        i = info[r]
        if i is None or not i[2] or not i[3]:
            continue
        cc, trunk = str(i[0]), i[1]
        pos = np.flatnonzero(national & (reg == r))
        if not len(pos):
            continue
        sub = txt.take(pos)
        ok = ~_np(pc.starts_with(sub, cc))
        if i[4]:  # a national number must not look like an international prefix to phonenumbers
            try:
                ok &= ~_np(pc.match_substring_regex(sub, f"^(?:{i[4]})"))
            except pa.ArrowInvalid:
                continue
        if trunk:
            ok &= _np(pc.starts_with(sub, trunk))
            nsn = _np(pc.utf8_slice_codeunits(sub, len(trunk)))
        else:
            nsn = _np(sub)
        cc_of[pos[ok]] = int(cc)
        nsn_of[pos[ok]] = nsn[ok]
    have = np.flatnonzero(cc_of > 0)
    if not len(have):
        return pd.Series(out, index=cleaned.index, dtype=object)
    # Validate each distinct (cc, nsn) once.
    codes, uniq = pd.factorize(pd.Series(nsn_of[have], dtype=object) + "|" + cc_of[have].astype(str))
    first = np.unique(codes, return_index=True)[1]
    ccs, nsns = cc_of[have][first], nsn_of[have][first]
    uniq_e164 = np.full(len(uniq), None, dtype=object)
    for cc in np.unique(ccs):
        plan = _cc_plan(int(cc))
        if plan is None:
            continue
        trunk, regions = plan
        sel = np.flatnonzero(ccs == cc)
        nsn = pa.array(nsns[sel], type=pa.string())
        # A leading zero or trunk prefix left in the NSN needs phonenumbers' own stripping heuristics.
        clean = ~_np(pc.starts_with(nsn, "0"))
        if trunk:
            clean &= ~_np(pc.starts_with(nsn, trunk))
        sel, nsn = sel[clean], nsn.filter(pa.array(clean))
        ok = _valid_nsn(nsn, regions)
        uniq_e164[sel[ok]] = ("+" + str(int(cc)) + pd.Series(nsns[sel[ok]], dtype=object)).to_numpy(dtype=object)
    out[have] = uniq_e164[codes]
    return pd.Series(out, index=cleaned.index, dtype=object)


@lru_cache(maxsize=1)
def _country_code_strings() -> frozenset[str]:
    return frozenset(str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if c > 0)


def is_email(value: str) -> bool:
    return re.fullmatch(_EMAIL_RE, value.strip().lower()) is not None
