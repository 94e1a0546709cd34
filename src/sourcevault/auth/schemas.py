from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from sourcevault.schema import NOT_BLANK, Email, InputModel, Timestamp, WireModel

UserName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NOT_BLANK
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


class RegisterIn(InputModel):
    email: Email
    name: UserName
    password: Password


class LoginIn(InputModel):
    email: Email
    # Any length is accepted at login: a wrong one is just a wrong password.
    password: Annotated[str, StringConstraints(max_length=1024)]


class UserOut(WireModel):
    id: str
    email: str
    name: str


class UserEnvelope(WireModel):
    user: UserOut


class SessionOut(WireModel):
    user: UserOut
    expires: Timestamp


class TokenOut(WireModel):
    token: str
    user: UserOut
    expires: Timestamp
