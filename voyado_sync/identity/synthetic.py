"""Fast vectorized identity records with ground truth, for benchmarks and property tests.

The sandbox generator builds full documents (orders with lines, receipts with payments) and is the
realistic input for tests; a million identity records need a generator that goes straight to
identifier rows. Every noise the identity issue lists is here, with its share configurable:

* households sharing one phone (each member otherwise has their own account/email);
* people with a second email (used on some orders) and a few with a second commercetools account;
* recycled phones (a number that moved from one person to another, observed later);
* guest orders (email/phone only), POS receipts of members with only a phone;
* garbage identifiers (empty, whitespace, placeholders, malformed emails, impossible phones);
* formatting noise (case and spaces in emails; national, international, 00 and spaced phones).

At most one value per identifier type per record, so the same records fit a wide table (Splink)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from voyado_sync.identity.records import IdentityInput

COUNTRIES = np.array(["SE", "NO", "DK", "FI"], dtype=object)
_CC = {"SE": ("+4670", "070", 7), "NO": ("+479", "9", 7), "DK": ("+4540", "40", 6), "FI": ("+35840", "040", 7)}
GARBAGE = {
    "email": ["", "  ", "n/a", "noreply@shop.se", "test@example.com", "foo@", "@bar.se", "unknown"],
    "phone": ["", "0000000", "123", "n/a", "000-000 00", "+46700000000", "abc"],
    "member_number": ["", "0", "N/A", "-"],
    "card_id": ["", "0000", "x"],
}


@dataclass(frozen=True)
class SyntheticConfig:
    records: int = 100_000
    seed: int = 7
    account_share: float = 0.7
    second_account_share: float = 0.02   # of account holders
    second_email_share: float = 0.05
    phone_share: float = 0.85
    member_share: float = 0.45
    household_share: float = 0.15        # persons living in households of 2-4 sharing a phone
    recycled_phone_share: float = 0.01
    garbage_share: float = 0.03
    guest_order_share: float = 0.05      # of account holders' orders
    orders_per_account: float = 1.6
    orders_per_guest: float = 0.8
    receipts_per_member: float = 1.2
    anonymous_receipts: float = 0.1
    voyado_non_member_share: float = 0.4


@dataclass
class SyntheticData:
    input: IdentityInput
    truth: pd.DataFrame      # record_key, person_id


def _records_per_person(c: SyntheticConfig) -> float:
    acc = c.account_share * (1 + c.second_account_share + c.orders_per_account)
    guest = (1 - c.account_share) * c.orders_per_guest
    pos = c.member_share * c.receipts_per_member + c.anonymous_receipts
    voy = c.member_share + (1 - c.member_share) * c.voyado_non_member_share
    return acc + guest + pos + voy


def generate(cfg: SyntheticConfig = SyntheticConfig()) -> SyntheticData:
    rng = np.random.default_rng(cfg.seed)
    n_p = max(4, int(cfg.records / _records_per_person(cfg) * 1.03))
    pid = np.arange(n_p)
    country = COUNTRIES[rng.choice(4, n_p, p=[0.6, 0.15, 0.1, 0.15])]
    has_acc = rng.random(n_p) < cfg.account_share
    second_acc = has_acc & (rng.random(n_p) < cfg.second_account_share)
    second_email = (rng.random(n_p) < cfg.second_email_share) | second_acc
    has_phone = rng.random(n_p) < cfg.phone_share
    member = rng.random(n_p) < cfg.member_share
    email1 = _emails(pid, "", rng)
    email2 = np.where(second_email, _emails(pid, ".alt", rng), None)
    phone = _phones(pid, country)
    # Households: consecutive persons share the first member's phone (most of the time).
    hh = rng.random(n_p) < cfg.household_share
    head = pid.copy()
    for k in range(1, 4):
        follow = hh & (pid >= k) & np.roll(hh, k) & (rng.random(n_p) < 0.6)
        head = np.where(follow & (head == pid), pid - k, head)
    share = (head != pid) & has_phone[head]
    country = np.where(share, country[head], country)
    phone = np.where(share, phone[head], phone)
    has_phone = has_phone | share
    # Recycled phones: a person takes over another person's number (seen later in time).
    recycled = rng.random(n_p) < cfg.recycled_phone_share
    donor = rng.integers(0, n_p, n_p)
    takes = recycled & has_phone[donor]
    country = np.where(takes, country[donor], country)
    phone = np.where(takes, phone[donor], phone)
    first = np.where(rng.random(n_p) < 0.5, "Anna", "Erik").astype(object) + pd.Series(pid % 97).astype(str).to_numpy(dtype=object)
    last = ("L" + pd.Series(pid % 1013).astype(str)).to_numpy(dtype=object)
    t0 = np.datetime64("2025-01-01T00:00:00")
    # Recycled: donor's records are early in the year, the new owner's late.
    time_bias = np.where(recycled, 200, 0)

    frames: list[dict] = []

    def emit(source: str, owner: np.ndarray, cols: dict[str, np.ndarray], names: bool = True):
        frames.append({"source": source, "owner": owner, "cols": cols, "names": names})

    # commercetools customers (and the odd second account).
    acc = pid[has_acc]
    emit("ct_customer", acc, {"ct_customer_id": ("ct-" + pd.Series(acc).astype(str)).to_numpy(dtype=object),
                              "email": email1[acc],
                              "phone": np.where(has_phone[acc] & (rng.random(len(acc)) < 0.8), phone[acc], None)})
    acc2 = pid[second_acc]
    emit("ct_customer", acc2, {"ct_customer_id": ("ct-" + pd.Series(acc2).astype(str) + "-b").to_numpy(dtype=object),
                               "email": email2[acc2], "phone": np.where(has_phone[acc2], phone[acc2], None)})
    # Orders: account holders (mostly logged in) and guests.
    n_ord = np.where(has_acc, rng.poisson(cfg.orders_per_account, n_p), rng.poisson(cfg.orders_per_guest, n_p))
    o = np.repeat(pid, n_ord)
    logged = has_acc[o] & (rng.random(len(o)) >= cfg.guest_order_share)
    use2 = second_email[o] & (rng.random(len(o)) < 0.3)
    emit("ct_order", o, {
        "ct_customer_id": np.where(logged, ("ct-" + pd.Series(o).astype(str)).to_numpy(dtype=object), None),
        "email": np.where(use2, email2[o], email1[o]),
        "phone": np.where(has_phone[o] & (rng.random(len(o)) < 0.6), phone[o], None)})
    # POS receipts of members: member number and/or card, sometimes only a phone.
    n_rc = np.where(member, rng.poisson(cfg.receipts_per_member, n_p), 0)
    r = np.repeat(pid, n_rc)
    kind = rng.random(len(r))
    phone_only = kind < 0.15
    card_only = (kind >= 0.15) & (kind < 0.3)
    emit("pos_receipt", r, {
        "member_number": np.where(phone_only | card_only, None, ("M" + pd.Series(r).astype(str)).to_numpy(dtype=object)),
        "card_id": np.where(card_only | (~phone_only & (rng.random(len(r)) < 0.3)),
                            ("C-" + pd.Series(r).astype(str)).to_numpy(dtype=object), None),
        "phone": np.where(has_phone[r] & (phone_only | (rng.random(len(r)) < 0.4)), phone[r], None)})
    # Non-member POS receipts with a phone typed at the till (receipts without any identifier are
    # not identity records: extraction skips them).
    n_an = rng.poisson(cfg.anonymous_receipts, n_p) * has_phone
    a = np.repeat(pid, n_an)
    emit("pos_receipt", a, {"phone": phone[a]}, names=False)
    # Voyado contacts: every member, some non-members.
    vc = pid[member | (rng.random(n_p) < cfg.voyado_non_member_share)]
    emit("voyado_contact", vc, {
        "voyado_contact_id": ("v-" + pd.Series(vc).astype(str)).to_numpy(dtype=object),
        "email": email1[vc], "phone": np.where(has_phone[vc], phone[vc], None),
        "member_number": np.where(member[vc], ("M" + pd.Series(vc).astype(str)).to_numpy(dtype=object), None)})

    # Documents without any identifier are not identity records (extraction skips them too).
    for f in frames:
        carried = np.zeros(len(f["owner"]), dtype=bool)
        for values in f["cols"].values():
            carried |= pd.notna(values)
        f["owner"] = f["owner"][carried]
        f["cols"] = {k: v[carried] for k, v in f["cols"].items()}
    # Assemble, trim to the requested size.
    owners = np.concatenate([f["owner"] for f in frames])
    total = len(owners)
    keep = np.sort(rng.choice(total, size=min(cfg.records, total), replace=False))
    offsets = np.cumsum([0] + [len(f["owner"]) for f in frames])
    rec_parts, id_parts, truth_parts = [], [], []
    serial = 0
    for f, lo in zip(frames, offsets[:-1]):
        sel = keep[(keep >= lo) & (keep < lo + len(f["owner"]))] - lo
        if not len(sel):
            continue
        own = f["owner"][sel]
        rid = (pd.Series(np.arange(serial, serial + len(sel))).astype(str)).to_numpy(dtype=object)
        serial += len(sel)
        keys = (f["source"] + ":" + pd.Series(rid, dtype=object)).to_numpy(dtype=object)
        days = (rng.integers(0, 160, len(sel)) + time_bias[own]).astype("timedelta64[D]")
        rec_parts.append(pd.DataFrame({
            "record_key": keys, "source": f["source"], "record_id": rid, "country": country[own],
            "observed_at": pd.to_datetime(t0 + days, utc=True),
            "first_name": first[own] if f["names"] else None, "last_name": last[own] if f["names"] else None}))
        truth_parts.append(pd.DataFrame({"record_key": keys, "person_id": own}))
        for id_type, values in f["cols"].items():
            v = values[sel]
            have = pd.notna(v)
            if not have.any():
                continue
            vals = _noise(id_type, v[have].astype(object), country[own][have], rng, cfg.garbage_share)
            id_parts.append(pd.DataFrame({"record_key": keys[have], "id_type": id_type, "raw_value": vals,
                                          "country": country[own][have]}))
    records = pd.concat(rec_parts, ignore_index=True)
    identifiers = pd.concat(id_parts, ignore_index=True)
    truth = pd.concat(truth_parts, ignore_index=True)
    inp = IdentityInput(records, identifiers, pd.DataFrame(columns=["source", "record_id", "reason"]))
    return SyntheticData(inp, truth)


def _emails(pid: np.ndarray, suffix: str, rng) -> np.ndarray:
    dom = np.array(["mail.se", "post.no", "net.dk", "posti.fi", "gmail.com"], dtype=object)[pid % 5]
    return ("p" + pd.Series(pid).astype(str) + suffix + "@" + pd.Series(dom)).to_numpy(dtype=object)


def _phones(pid: np.ndarray, country: np.ndarray) -> np.ndarray:
    out = np.empty(len(pid), dtype=object)
    for c, (intl, _nat, width) in _CC.items():
        m = country == c
        lo = 10 ** (width - 1)  # no leading zero in the subscriber part
        sub = pd.Series((pid[m] * 7919 + 1_234_567) % (9 * lo) + lo).astype(str)
        out[m] = (intl + sub).to_numpy(dtype=object)
    return out


def _noise(id_type: str, v: np.ndarray, country: np.ndarray, rng, garbage_share: float) -> np.ndarray:
    v = v.copy()
    u = rng.random(len(v))
    if id_type == "email":
        up = u < 0.15
        v[up] = pd.Series(v[up], dtype=object).str.upper().to_numpy(dtype=object)
        sp = (u >= 0.15) & (u < 0.25)
        v[sp] = (" " + pd.Series(v[sp], dtype=object) + " ").to_numpy(dtype=object)
    elif id_type == "phone":
        s = pd.Series(v, dtype=object)
        for c, (intl, nat, _n) in _CC.items():
            m = (country == c) & (u < 0.6)
            if not m.any():
                continue
            rest = s[m].str.slice(len(intl))
            fmt = u[m]
            natv = nat + rest
            spaced = (natv.str.slice(0, 3) + "-" + natv.str.slice(3, 6) + " " + natv.str.slice(6))
            zero0 = "00" + s[m].str.slice(1)
            v[m] = np.where(fmt < 0.25, natv, np.where(fmt < 0.45, spaced, zero0)).astype(object)
    if id_type in GARBAGE:
        g = rng.random(len(v)) < garbage_share
        v[g] = np.asarray(GARBAGE[id_type], dtype=object)[rng.integers(0, len(GARBAGE[id_type]), int(g.sum()))]
    return v


def pair_metrics(pred: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision/recall of a clustering vs ground truth (both indexed by record key)."""
    df = pd.DataFrame({"p": pd.factorize(pred)[0], "t": pd.factorize(truth.reindex(pred.index))[0]})

    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = pairs(df.groupby(["p", "t"]).size().to_numpy())
    pred_pairs = pairs(df.groupby("p").size().to_numpy())
    true_pairs = pairs(df.groupby("t").size().to_numpy())
    return {"precision": both / pred_pairs if pred_pairs else 1.0,
            "recall": both / true_pairs if true_pairs else 1.0,
            "true_pairs": true_pairs, "predicted_pairs": pred_pairs, "correct_pairs": both}
