"""Ready-made mappings for common channel exports, written in the command-line syntax.

A preset's columns that a file lacks are left out (a CRM list without an ``email``
column still imports); the columns its identifiers take a scope or kind from must be
there. Anything given beside ``--preset`` overrides the preset column by column, and
``--map COLUMN=`` drops one of its identifier columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.errors import InvalidInput
from identity.imports.mapping import ImportMapping
from identity.imports.spec import MappingSpec, parse_mapping

__all__ = ["PRESETS", "Preset", "build_mapping"]

_DEVICES = ("idfa", "idfv", "oaid", "android_id", "gaid")
_DEVICE_KINDS = ",".join(["ios:idfa", "android:oaid", *(f"{k}:{k}" for k in _DEVICES)])


@dataclass(frozen=True)
class Preset:
    description: str
    header: str
    spec: MappingSpec


PRESETS = {
    "app-login": Preset(
        "an app's login log: the login id of the app, the device, and the phone for SMS logins",
        "login_time,app_id,user_id,device_type,device_id,phone",
        MappingSpec(
            maps=("user_id=login_id@{app_id}", "device_id={device_type}", "phone=phone"),
            kinds=(f"device_type={_DEVICE_KINDS}",),
            time="login_time:iso",
            channel="app",
            event="login",
        ),
    ),
    "wechat-mp": Preset(
        "a WeChat mini-program authorisation export: openid per mini-program (appid), "
        "unionid per open-platform account (platform)",
        "auth_time,appid,openid,unionid,platform,phone",
        MappingSpec(
            maps=(
                "openid=wechat_openid@{appid}",
                "unionid=wechat_unionid@{platform}",
                "phone=phone",
            ),
            time="auth_time:iso",
            channel="wechat_mp",
            event="authorise",
        ),
    ),
    "crm-members": Preset(
        "a CRM member list: member number, phone, email, level and interests",
        "member_id,phone,email,level,interests,registered_at",
        MappingSpec(
            maps=("member_id=member_id", "phone=phone", "email=email"),
            traits=("level=membership_level",),
            tags=("interests",),
            time="registered_at:iso",
            channel="crm",
            event="member",
        ),
    ),
}


def build_mapping(preset: str | None, spec: MappingSpec) -> ImportMapping:
    """A preset (if named) with ``spec`` laid over it; spelling problems are reported
    by :meth:`ImportMapping.check`, with those of the file's header and the policy.

    >>> m = build_mapping("crm-members", MappingSpec(maps=["email="], channel="crm_2024"))
    >>> [i.column for i in m.identifiers], m.channel.text
    (['member_id', 'phone'], 'crm_2024')
    """
    if preset is None:
        return parse_mapping(spec, strict=False)
    base = PRESETS.get(preset)
    if base is None:
        raise InvalidInput("unknown preset", {"preset": f"choose from {', '.join(PRESETS)}"})
    optional = base.spec.columns() - spec.columns()
    return parse_mapping(spec.over(base.spec), optional, strict=False)
