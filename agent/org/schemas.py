"""The organisation profile as YAML and JSON: validated at the edge, extra fields kept."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from kizuki.core.text import check_storable

_HANDLE = re.compile(r"^@?[\w.\-]{1,64}$")
# Where a language's customers usually are, for an organisation that names no markets
_LANGUAGE_MARKETS: dict[str, tuple[str, ...]] = {
    "ja": ("JP",),
    "en": ("US", "GB"),
    "ko": ("KR",),
    "zh": ("CN", "TW"),
    "de": ("DE",),
    "fr": ("FR",),
    "es": ("ES", "MX"),
    "pt": ("BR", "PT"),
    "it": ("IT",),
    "th": ("TH",),
    "vi": ("VN",),
    "id": ("ID",),
}


def _clean(value: str, field: str) -> str:
    return unicodedata.normalize("NFC", check_storable(value, field)).strip()


def _required(value: str) -> str:
    value = _clean(value, "name")
    if not value:
        raise ValueError("must not be blank")
    return value


Name = Annotated[str, AfterValidator(_required)]


class Product(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: Name = Field(min_length=1, max_length=200, description="The product's name as the company writes it")
    aliases: list[str] = Field(default_factory=list, description="Other ways people write it")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        return [a for a in (_clean(x, "alias") for x in v) if a]


class OrgProfile(BaseModel):
    """Who the company is. Everything company-specific a reply needs comes from here and the knowledge."""

    model_config = ConfigDict(extra="allow")

    name: Name = Field(min_length=1, max_length=200, description="The company's name, as replies say it")
    names: list[str] = Field(default_factory=list, description="Every way people write the company")
    handles: dict[str, str] = Field(
        default_factory=dict, description="Channel → our support account, e.g. {x: '@acme_help'} (DM redirection)"
    )
    products: list[Product] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    contacts: list[str] = Field(
        default_factory=list, description="Our own public numbers, addresses and URLs: never flagged as personal data"
    )
    languages: list[str] = Field(default_factory=lambda: ["ja", "en"], description="First = the main language")
    markets: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Countries the customers are in, ISO 3166 alpha-2 codes (JP, US, GB, ...), first = the main"
        " market: phone numbers are read in these countries' formats. Empty: derived from `languages` (ja → JP,"
        " en → US and GB, ko → KR, zh → CN and TW, ...; JP and US when none maps)."
        " Japanese mobile numbers are always read.",
    )
    tone: str | None = Field(default=None, max_length=2000, description="Tone notes for the drafting prompt")
    departments: dict[str, str] = Field(default_factory=dict, description="Department → what it handles")
    business_hours: str | None = Field(default=None, max_length=500)

    @field_validator("names", "competitors", "contacts")
    @classmethod
    def _strings(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for item in (_clean(x, "value") for x in v):
            if item and item not in out:
                out.append(item)
        return out

    @field_validator("handles")
    @classmethod
    def _handles(cls, v: dict[str, str]) -> dict[str, str]:
        out = {}
        for channel, handle in v.items():
            handle = _clean(handle, "handle")
            if not _HANDLE.match(handle):
                raise ValueError(f"handle for {channel!r} must look like @name (letters, digits, _ . -)")
            out[channel.strip().lower()] = handle if handle.startswith("@") else "@" + handle
        return out

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        v = [x.strip().lower() for x in v if x.strip()]
        if not v:
            raise ValueError("name at least one language")
        return v

    @field_validator("markets")
    @classmethod
    def _markets(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for raw in v:
            code = _clean(raw, "market").upper()
            code = "GB" if code == "UK" else code
            if code not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"unknown market {raw!r}: use an ISO 3166 alpha-2 country code such as JP, US or GB")
            if code not in out:
                out.append(code)
        return out

    def phone_regions(self) -> list[str]:
        """The markets, or when none are given the countries of the languages (JP and US when none maps)."""
        if self.markets:
            return list(self.markets)
        out: list[str] = []
        for lang in self.languages:
            for code in _LANGUAGE_MARKETS.get(lang.split("-")[0].split("_")[0], ()):
                if code not in out:
                    out.append(code)
        return out or ["JP", "US"]

    @model_validator(mode="after")
    def _name_first(self) -> OrgProfile:
        if self.name not in self.names:
            self.names.insert(0, self.name)
        return self

    def handle_for(self, channel: str | None) -> str | None:
        """Our account on a channel (the first one given when the channel has none)."""
        if channel and channel in self.handles:
            return self.handles[channel]
        return next(iter(self.handles.values()), None)

    def brand_terms(self) -> list[str]:
        """The company's and its products' names: what watch rules and the composer recognise as us."""
        terms = [*self.names]
        for p in self.products:
            terms += [p.name, *p.aliases]
        return list(dict.fromkeys(terms))


class OrgProfilePublic(BaseModel):
    version: int
    profile: OrgProfile | None
    created_at: datetime | None = None
    created_by: str | None = None
    note: str | None = None


class OrgProfileUpdate(BaseModel):
    profile: OrgProfile
    version: int = Field(ge=0, description="The version you edited (0 = none yet); stale → 409")
    note: str | None = Field(default=None, max_length=2000)
