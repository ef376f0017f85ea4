"""The Redis cache in front of ``GetUser``: a help when it answers, never a reason to fail.

Every failure of Redis (refused, reset, timed out) counts as a miss: the
caller reads the database instead. The outage is logged once when it begins
and once when Redis answers again; the redis plugin's readiness check
reports it meanwhile (``/_healthz/readiness`` names the ``cache`` check).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from users_service.gen import users_pb2
from users_service.gen.users_toolkit import CachePlugin

__all__ = ["UserCache"]

log = logging.getLogger("users.cache")

# A deleted user's entry is dropped at once; the TTL only bounds what a
# missed delete (Redis down at that moment) can leave behind.
TTL = timedelta(minutes=10)

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class UserCache:
    """Users by id, as serialized ``User`` messages."""

    def __init__(self, cache: CachePlugin) -> None:
        self._cache = cache
        self._down = False

    @staticmethod
    def key(user_id: str) -> str:
        return f"example_users:{user_id}"

    async def get(self, user_id: str) -> users_pb2.User | None:
        """The cached user, or ``None`` on a miss or while Redis is unreachable."""
        try:
            data = await self._cache.client().get(self.key(user_id))
        except _UNREACHABLE as error:
            self._failed(error)
            return None
        self._answered()
        if data is None:
            return None
        return users_pb2.User.FromString(data.encode() if isinstance(data, str) else data)

    async def put(self, user: users_pb2.User) -> None:
        """Remember ``user``; best effort."""
        try:
            await self._cache.client().set(self.key(user.id), user.SerializeToString(), ex=TTL)
        except _UNREACHABLE as error:
            self._failed(error)
            return
        self._answered()

    async def drop(self, user_id: str) -> None:
        """Forget a user; best effort (the TTL ends what a failed drop leaves)."""
        try:
            await self._cache.client().delete(self.key(user_id))
        except _UNREACHABLE as error:
            self._failed(error)
            return
        self._answered()

    def _failed(self, error: Exception) -> None:
        if not self._down:
            self._down = True
            log.warning(
                'cache "%s" unreachable (%s); reading users from the database until it answers',
                self._cache.instance_name,
                type(error).__name__,
            )

    def _answered(self) -> None:
        if self._down:
            self._down = False
            log.info('cache "%s" answers again', self._cache.instance_name)
