"""A small typed client for the Zalo APIs hoso uses; Zalo's and httpx's errors become hoso's here."""

from consumers.zalo.client import Accepted, ZaloClient
from consumers.zalo.codes import ErrorClass, classify

__all__ = ["Accepted", "ErrorClass", "ZaloClient", "classify"]
