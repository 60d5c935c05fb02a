"""The true people behind every record, and the noisy ways their identifiers show up in the sources.

A `Person` holds the canonical identity (lower-case email, E.164 phone, member number...). Records never
copy it verbatim: `Noise` writes emails with case/whitespace noise, phones in mixed national and
international spellings, and now and then a garbage value (empty, "000-000", "noreply@example.com",
malformed email) that must not count as the person's identity. The scenarios identity resolution must
handle are planted on purpose: one person with two web accounts (second email), households sharing a
phone, a phone number recycled from one person to another, guests who never register, and people who
only ever buy in stores."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from voyado_sync.sandbox.generator.common import COUNTRY_WEIGHTS, HOME_COUNTRIES, MARKETS, pick
from voyado_sync.sandbox.generator.config import GeneratorConfig

# --- names and places --------------------------------------------------------------------------------
FIRST_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (female, male)
    "SE": (("Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Emma", "Kristina", "Elin", "Åsa", "Ebba", "Linnéa",
            "Maja", "Sofia", "Ingrid", "Märta"),
           ("Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Mikael", "Oskar", "Björn", "Gustav", "Olof",
            "Lukas", "Hugo", "Göran", "Fredrik")),
    "NO": (("Ingrid", "Kari", "Nora", "Silje", "Hanne", "Ragnhild", "Marit", "Ida", "Solveig", "Tone", "Sigrid"),
           ("Ole", "Bjørn", "Lars", "Jan", "Kjetil", "Magnus", "Henrik", "Sindre", "Øyvind", "Håkon", "Jonas")),
    "DK": (("Mette", "Hanne", "Anne", "Freja", "Ida", "Camilla", "Signe", "Line", "Birgitte", "Sofie"),
           ("Søren", "Jens", "Mads", "Rasmus", "Niels", "Frederik", "Anders", "Mikkel", "Christian", "Jørgen")),
    "FI": (("Aino", "Päivi", "Sanna", "Laura", "Johanna", "Tiina", "Minna", "Eveliina", "Satu", "Helmi"),
           ("Mikko", "Juha", "Timo", "Jukka", "Antti", "Ville", "Matti", "Jussi", "Eero", "Väinö")),
    "DE": (("Anna", "Julia", "Katharina", "Sabine", "Petra", "Lea", "Sophie", "Ursula", "Jana", "Lena"),
           ("Jürgen", "Thomas", "Michael", "Stefan", "Andreas", "Lukas", "Felix", "Jonas", "Klaus", "Matthias")),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "SE": ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
           "Gustafsson", "Pettersson", "Jonsson", "Lindberg", "Lindström", "Åberg", "Sjöberg", "Bergström", "Öberg"),
    "NO": ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
           "Berg", "Haugen", "Hagen", "Bakke", "Solberg", "Strøm", "Dahl"),
    "DK": ("Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen",
           "Jørgensen", "Madsen", "Kristensen", "Møller"),
    "FI": ("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen",
           "Järvinen", "Lehtonen", "Lehtinen", "Saarinen"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
           "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf"),
}
CITIES: dict[str, tuple[tuple[str, str, str], ...]] = {  # (city, postal code pattern, street)
    "SE": (("Stockholm", "1## ##", "Sveavägen"), ("Göteborg", "4## ##", "Linnégatan"), ("Malmö", "2## ##", "Storgatan"),
           ("Uppsala", "75# ##", "Kungsgatan"), ("Västerås", "72# ##", "Vasagatan"), ("Örebro", "70# ##", "Drottninggatan")),
    "NO": (("Oslo", "0###", "Bogstadveien"), ("Bergen", "50##", "Strandgaten"), ("Trondheim", "70##", "Olav Tryggvasons gate"),
           ("Stavanger", "40##", "Kirkegata")),
    "DK": (("København", "2###", "Nørrebrogade"), ("Aarhus", "80##", "Søndergade"), ("Odense", "5###", "Vestergade"),
           ("Aalborg", "9###", "Boulevarden")),
    "FI": (("Helsinki", "00###", "Mannerheimintie"), ("Espoo", "02###", "Kauppamiehentie"), ("Tampere", "33###", "Hämeenkatu"),
           ("Turku", "20###", "Eerikinkatu")),
    "DE": (("Berlin", "10###", "Kastanienallee"), ("Hamburg", "20###", "Mönckebergstraße"), ("München", "80###", "Leopoldstraße"),
           ("Köln", "50###", "Ehrenstraße")),
}
EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "SE": ("gmail.com", "hotmail.com", "outlook.com", "telia.com", "live.se", "yahoo.se", "icloud.com", "example.se"),
    "NO": ("gmail.com", "hotmail.com", "online.no", "outlook.com", "icloud.com", "example.no"),
    "DK": ("gmail.com", "hotmail.com", "live.dk", "outlook.dk", "mail.dk", "example.dk"),
    "FI": ("gmail.com", "hotmail.com", "outlook.com", "elisanet.fi", "luukku.com", "example.fi"),
    "DE": ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de", "example.de"),
}
COMPANY_STEMS = ("Nordwind", "Fjällbacka", "Blåbär", "Stadtmitte", "Kaleva", "Havblik", "Birkenhof")
COMPANY_FORMS = {"DE": "GmbH", "FI": "Oy", "SE": "AB", "NO": "AS", "DK": "ApS"}

GARBAGE_PHONES = ("000-000", "0000000000", "", " ", "-", "123", "n/a", "1111111111", "+46000000000")
GARBAGE_EMAILS = ("noreply@example.com", "test@test.com", "no-reply@example.com", "", " ", "n/a", "x",
                  "kund@@butik.se", "none")
_ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o", "ø": "o", "æ": "ae", "ü": "u", "ß": "ss", "é": "e",
                        "Å": "a", "Ä": "a", "Ö": "o", "Ø": "o", "Æ": "ae", "Ü": "u"})


# --- phones ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Phone:
    """A real phone number: country, national significant number, and whether it is a mobile."""
    country: str
    nsn: str
    mobile: bool = True

    @property
    def e164(self) -> str:
        return f"+{MARKETS[self.country].calling_code}{self.nsn}"

    def national(self) -> str:
        n, c = self.nsn, self.country
        if c == "SE":
            return f"0{n[:2]}-{n[2:5]} {n[5:7]} {n[7:]}" if self.mobile else f"0{n[0]}-{n[1:4]} {n[4:7]} {n[7:]}"
        if c == "NO":
            return f"{n[:3]} {n[3:5]} {n[5:]}" if self.mobile else f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:]}"
        if c == "DK":
            return f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:]}"
        if c == "FI":
            return f"0{n[:2]} {n[2:]}" if self.mobile else f"0{n[0]} {n[1:]}"
        return f"0{n[:3]} {n[3:]}" if self.mobile else f"0{n[:2]} {n[2:]}"  # DE

    def international(self) -> str:
        nat = self.national()
        body = nat[1:] if self.country in ("SE", "FI", "DE") else nat
        return f"+{MARKETS[self.country].calling_code} {body.replace('-', ' ')}"

    def spelled(self, rng: random.Random) -> str:
        """One of the spellings people and tills really use."""
        r = rng.random()
        if r < 0.35:
            return self.national()
        if r < 0.60:
            return self.international()
        if r < 0.80:
            return self.e164
        if r < 0.90:
            return "00" + self.e164[1:]
        return self.national().replace(" ", "").replace("-", "")


def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10 ** n):0{n}d}"


def random_phone(rng: random.Random, country: str, mobile: bool = True) -> Phone:
    if mobile:
        prefix = {"SE": ("70", "72", "73", "76", "79"),
                  "NO": ("40", "41", "46", "47", "48", "90", "91", "92", "93", "94", "95", "97", "98", "99"),
                  "DK": ("203", "214", "226", "262", "281", "305", "317", "404", "427", "508", "512", "535", "602", "619"),
                  "FI": ("40", "41", "44", "45", "50"),
                  "DE": ("151", "152", "157", "170", "171", "172", "175", "176", "177", "178", "179")}[country]
        length = {"SE": 9, "NO": 8, "DK": 8, "FI": 9, "DE": 11}[country]
    else:
        prefix = {"SE": ("8",), "NO": ("22",), "DK": ("331", "332", "336"), "FI": ("92", "94", "96"), "DE": ("30",)}[country]
        length = {"SE": 9, "NO": 8, "DK": 8, "FI": 8, "DE": 10}[country]
    p = pick(rng, prefix)
    return Phone(country, p + _digits(rng, length - len(p)), mobile)


# --- persons -----------------------------------------------------------------------------------------
@dataclass
class Person:
    person_id: str
    kind: str                      # "registered" | "guest" | "store"
    country: str
    first_name: str
    last_name: str
    gender: str
    birth_date: str
    city: str
    postal_code: str
    street: str
    email: str                     # canonical: lower-case, trimmed
    phone: Phone | None            # own mobile
    email2: str | None = None      # second account's email (two-account person)
    home_phone: Phone | None = None  # shared by the household
    household_id: str | None = None
    old_phone: Phone | None = None   # used earlier; since recycled to another person
    member_number: str | None = None
    card_id: str | None = None
    omni: bool = False             # registered and also a store member
    company: str | None = None     # B2B buyer
    vat_id: str | None = None
    weight: float = 1.0            # purchase activity
    customer_ids: list[str] = field(default_factory=list)

    @property
    def market(self):
        return MARKETS[self.country]

    @property
    def any_phone(self) -> Phone | None:
        return self.phone or self.home_phone

    @property
    def shops_in_store(self) -> bool:
        return self.kind == "store" or self.omni


def _postal(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


def _email_local(rng: random.Random, first: str, last: str) -> str:
    f, l = first.lower().translate(_ASCII), last.lower().translate(_ASCII)
    r = rng.random()
    if r < 0.45:
        return f"{f}.{l}"
    if r < 0.60:
        return f"{f}.{l}{rng.randrange(50, 100)}"
    if r < 0.75:
        return f"{f[0]}{l}"
    if r < 0.88:
        return f"{f}_{l[:3]}"
    return f"{f}{rng.randrange(1, 1000)}"


def _unique_email(rng: random.Random, taken: set[str], first: str, last: str, country: str,
                  domain: str | None = None) -> str:
    local = _email_local(rng, first, last)
    dom = domain or pick(rng, EMAIL_DOMAINS[country])
    email = f"{local}@{dom}"
    n = 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{dom}"
    taken.add(email)
    return email


def build_persons(cfg: GeneratorConfig) -> list[Person]:
    """The population, with every noise scenario planted at least once (when there are enough people)."""
    rng = cfg.rng("persons")
    n = cfg.persons
    taken_emails: set[str] = set()
    taken_phones: set[str] = set()

    def fresh_phone(country: str, mobile: bool = True) -> Phone:
        while True:
            p = random_phone(rng, country, mobile)
            if p.e164 not in taken_phones:
                taken_phones.add(p.e164)
                return p

    n_store = max(2, round(n * cfg.store_only_share))
    n_guest = max(2, round(n * cfg.guest_only_share))
    kinds = ["store"] * n_store + ["guest"] * n_guest + ["registered"] * (n - n_store - n_guest)
    rng.shuffle(kinds)
    anchor = cfg.anchor_date
    persons: list[Person] = []
    for i, kind in enumerate(kinds):
        country = rng.choices(HOME_COUNTRIES, COUNTRY_WEIGHTS)[0]
        female = rng.random() < 0.52
        first = pick(rng, FIRST_NAMES[country][0 if female else 1])
        last = pick(rng, LAST_NAMES[country])
        city, postal, street = pick(rng, CITIES[country])
        born = anchor - timedelta(days=rng.randint(18 * 365, 80 * 365))
        phone = fresh_phone(country) if rng.random() < 0.9 else None
        persons.append(Person(
            person_id=f"P{i + 1:07d}", kind=kind, country=country, first_name=first, last_name=last,
            gender="Female" if female else "Male", birth_date=born.isoformat(), city=city,
            postal_code=_postal(rng, postal), street=f"{street} {rng.randint(1, 120)}",
            email=_unique_email(rng, taken_emails, first, last, country), phone=phone,
            weight=rng.paretovariate(2.0)))

    registered = [p for p in persons if p.kind == "registered"]
    # Phone-less people would make a store-only person unreachable; store people always have one.
    for p in persons:
        if p.kind == "store" and p.phone is None:
            p.phone = fresh_phone(p.country)

    # Households: 2-3 people at one address sharing a landline; some members have no own mobile.
    in_household = round(n * cfg.household_share)
    pool = list(persons)
    rng.shuffle(pool)
    h = 0
    while in_household >= 2 and len(pool) >= 2:
        size = min(len(pool), rng.choice((2, 2, 3)), in_household)
        if size < 2:
            break
        members, pool = pool[:size], pool[size:]
        in_household -= size
        h += 1
        head = members[0]
        home = fresh_phone(head.country, mobile=False)
        for j, m in enumerate(members):
            m.household_id = f"H{h:06d}"
            m.home_phone = home
            if j:
                m.country, m.last_name = head.country, head.last_name
                m.city, m.postal_code, m.street = head.city, head.postal_code, head.street
                if m.phone is not None and rng.random() < 0.4 and m.kind != "store":
                    taken_phones.discard(m.phone.e164)
                    m.phone = None  # reachable only on the family phone

    # Recycled numbers: A used a number earlier; the operator has since given it to B.
    with_phone = [p for p in persons if p.phone is not None]
    pairs = max(1, round(n * cfg.recycled_phone_share)) if len(with_phone) >= 4 else 0
    rng.shuffle(with_phone)
    for k in range(pairs):
        a, b = with_phone[2 * k], with_phone[2 * k + 1]
        if a.household_id and a.household_id == b.household_id:
            continue
        a.old_phone = b.phone

    # Two web accounts for one person: the second account uses another email.
    two = max(1, round(len(registered) * cfg.two_account_share)) if registered else 0
    for p in rng.sample(registered, min(two, len(registered))):
        p.email2 = _unique_email(rng, taken_emails, p.first_name, p.last_name, p.country)

    # B2B buyers (net prices, EUR markets) and store membership.
    eur = [p for p in registered if p.country in ("DE", "FI") and p.email2 is None]
    for p in rng.sample(eur, min(len(eur), max(1, round(len(registered) * 0.04)))):
        stem = pick(rng, COMPANY_STEMS)
        p.company = f"{stem} {p.last_name} {COMPANY_FORMS[p.country]}"
        p.vat_id = f"{p.country}{rng.randrange(10 ** 9):09d}"
        p.weight *= 2
    member_no = rng.sample(range(100_000, 100_000 + 20 * n + 1000), n)
    card_no = rng.sample(range(100_000, 1_000_000), min(n, 800_000)) if n <= 800_000 else None
    for i, p in enumerate(persons):
        if p.kind == "registered" and p.company is None and rng.random() < cfg.omni_share:
            p.omni = True
        if p.shops_in_store or (p.kind == "registered" and rng.random() < 0.5):
            p.member_number = f"M{member_no[i]}"
        if p.shops_in_store and rng.random() < 0.7:
            p.card_id = f"C-{card_no[i] if card_no else 100_000 + i}"
    return persons


class Noise:
    """How identifiers are written on a record: formatting noise and occasional garbage."""

    def __init__(self, rng: random.Random, garbage_share: float) -> None:
        self.rng = rng
        self.garbage_share = garbage_share

    def garbage(self) -> bool:
        return self.rng.random() < self.garbage_share

    def email(self, canonical: str) -> str:
        r = self.rng.random()
        if r < 0.55:
            return canonical
        local, _, domain = canonical.partition("@")
        if r < 0.80:
            local = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
            return f"{local}@{domain[:1].upper()}{domain[1:]}"
        if r < 0.90:
            return f"{local}@{domain.upper()}"
        return pick(self.rng, (" ", "  ", "\t")) + canonical + pick(self.rng, ("", " ", "  "))

    def garbage_email(self, canonical: str) -> str:
        if self.rng.random() < 0.5:
            return pick(self.rng, GARBAGE_EMAILS)
        local, _, domain = canonical.partition("@")
        return pick(self.rng, (f"{local}@", f"{local}.{domain}", f"{local}@{domain.split('.')[0]}",
                               f"{local} @ {domain}", f"{local}@{domain}@{domain}"))

    def garbage_phone(self) -> str:
        return pick(self.rng, GARBAGE_PHONES)

    def phone(self, phone: Phone | None) -> str | None:
        return None if phone is None else phone.spelled(self.rng)
