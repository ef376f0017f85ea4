"""One subscription: a durable JetStream pull consumer, fetched in a loop, with explicit acks.

The consumer ``{subscriber}:{publisher}:{event}`` filters the publisher's
stream on ``{publisher}.{event}``: two services each get every message (two
consumers), two replicas of one service share the work (one consumer). A
handler that raises has its message delivered again after a delay growing
with each attempt (``nak`` with a delay); once ``MAX_DELIVER`` deliveries
failed, the message is published to the subscriber's dead-letter stream
and acknowledged.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from lbtoolkit.plugins._messaging import jittered
from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.nats._wire import (
    MESSAGE_ID_HEADER,
    dead_letter_headers,
    dead_letter_subject,
    delivery_count,
    delivery_of,
    retry_delay,
)

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

    from lbtoolkit.plugins._messaging import Consumer, Handler

__all__ = ["RetryPolicy", "Subscription"]

# How long one pull request waits for messages: short enough that a lost
# request (the server restarted) is renewed soon and that stop, which lets
# the current pull finish, is quick; long enough to cost nothing when idle.
_FETCH_WAIT = 1.0
# Bounds the calls of a retry or a dead-lettering, which otherwise wait for a
# reconnection that may never come.
_CALL_TIMEOUT = 10.0
# Pause after a failed pull before the next, growing up to the longest.
_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 2.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed message comes again, and when it is given up (all in seconds)."""

    max_deliver: int
    first_delay: float
    factor: float
    longest_delay: float
    ack_wait: float
    jitter: float = 0.0

    def delay(self, attempt: int) -> float:
        """Seconds before the next delivery, after delivery ``attempt`` failed (jittered upward)."""
        base = retry_delay(attempt, self.first_delay, self.factor, self.longest_delay)
        return jittered(base, self.jitter)


class Subscription:
    """A handler bound to one event of one publishing service.

    Returned by ``subscribe``; ``unsubscribe()`` stops fetching (the durable
    consumer stays, so messages published meanwhile wait for the next one).
    """

    def __init__(
        self,
        *,
        service: str,
        event: str,
        queue: str,
        subject: str,
        prefix_length: int,
        dead_letter_root: str,
        handler: Handler,
        prefetch: int,
        retry: RetryPolicy,
        consumer: Consumer,
        log: logging.Logger,
        on_unsubscribe: Callable[[Subscription], Awaitable[None]],
    ) -> None:
        self.service = service
        self.event = event
        self.queue = queue
        self.subject = subject
        self._prefix_length = prefix_length
        self._dead_letter_root = dead_letter_root
        self._handler = handler
        self._prefetch = prefetch
        self._retry = retry
        self._consumer = consumer
        self._metrics = consumer.metrics(service, event)
        self._log = log
        self._on_unsubscribe = on_unsubscribe
        self._js: JetStreamContext | None = None
        self._pull: JetStreamContext.PullSubscription | None = None
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        # With prefetch > 1: fetched messages wait here for one of ``prefetch`` workers.
        self._backlog: collections.deque[Msg] = collections.deque()
        self._workers: list[asyncio.Task[None]] = []
        self._sleepers: collections.deque[asyncio.Future[None]] = collections.deque()
        self._waking = 0  # workers woken that have not run yet
        self._in_flight = 0  # fetched, not settled yet
        # Pull again once half the slots are free: a pull per freed slot would
        # cost a round trip per message.
        self._busiest = prefetch - max(prefetch // 2, 1)
        self._slot_free = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def __repr__(self) -> str:
        return f"<Subscription {self.service}/{self.event} via {self.queue!r}>"

    @property
    def consuming(self) -> bool:
        """Whether messages are being fetched."""
        return self._loop is not None and not self._loop.done()

    async def declare(self, js: JetStreamContext, stream: str) -> None:
        """Create (or update) the durable consumer on ``stream`` and bind a pull subscription."""
        config = ConsumerConfig(
            durable_name=self.queue,
            name=self.queue,
            filter_subject=self.subject,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._retry.ack_wait,
            # Giving up is the plugin's (it dead-letters): the server keeps delivering.
            max_deliver=-1,
            # Like a new queue: the messages published from now on.
            deliver_policy=DeliverPolicy.NEW,
        )
        await js.add_consumer(stream, config)
        self._pull = await js.pull_subscribe_bind(
            durable=self.queue, stream=stream, pending_msgs_limit=max(self._prefetch * 4, 64)
        )
        self._js = js

    def start(self) -> None:
        """Start fetching (once declared)."""
        if self._pull is None or self._loop is not None:
            return
        self._stopping = False
        if self._prefetch > 1:
            self._workers = [
                asyncio.create_task(self._work(), name=f"nats {self.queue} #{n}")
                for n in range(self._prefetch)
            ]
        self._loop = asyncio.create_task(self._fetch_loop(), name=f"nats {self.queue}")

    async def unsubscribe(self) -> None:
        """Stop fetching and wait for the running handlers."""
        await self.stop(_CALL_TIMEOUT)
        await self._on_unsubscribe(self)

    async def stop(self, drain_timeout: float) -> None:
        """Stop fetching, then wait up to ``drain_timeout`` for running handlers.

        A pull under way is let finish (at most ``_FETCH_WAIT``) and what it
        brings is handled: cut short, it would leave a request on the server
        that takes messages nobody reads, delivered again only after ``ACK_WAIT``.
        """
        self._stopping = True
        self._slot_free.set()
        clock = asyncio.get_running_loop()
        deadline = clock.time() + drain_timeout
        fetching, self._loop = self._loop, None
        unfinished = 0
        if fetching is not None:
            _, pending = await asyncio.wait({fetching}, timeout=drain_timeout)
            if pending:
                fetching.cancel()
                unfinished = 1  # a handler run by the loop itself (prefetch 1)
        if self._in_flight:
            try:
                async with asyncio.timeout(max(deadline - clock.time(), 0)):
                    await self._idle.wait()
            except TimeoutError:
                unfinished = self._in_flight
        await self._stop_workers()
        if unfinished:
            self._log.warning(
                "%r: %d handler(s) still running after %gs; their messages will be delivered again",
                self,
                unfinished,
                drain_timeout,
            )
        pull, self._pull = self._pull, None
        if pull is not None:
            try:
                await pull.unsubscribe()
            except nats.errors.Error as error:
                self._log.debug("%r: unsubscribing failed: %s", self, error)

    async def _stop_workers(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._sleepers.clear()
        self._waking = 0
        # Fetched but never started: handed back at once rather than after ACK_WAIT.
        backlog = self._backlog
        while backlog:
            msg = backlog.popleft()
            await self._settle(msg.nak(), msg)
        self._in_flight = 0
        self._idle.set()

    async def _fetch_loop(self) -> None:
        pull = self._pull
        if pull is None:
            return
        prefetch = self._prefetch
        pause = _FIRST_PAUSE
        while not self._stopping:
            if self._in_flight > self._busiest:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                batch = await pull.fetch(prefetch - self._in_flight, timeout=_FETCH_WAIT)
            except TimeoutError:
                continue  # nothing to fetch (or the request was lost in a reconnection)
            except nats.errors.ConnectionClosedError:
                return
            except (nats.errors.Error, OSError) as error:
                # The consumer went away (deleted, server restarted without it) or the
                # connection broke: log, pause, and pull again; nats-py reconnects itself.
                self._log.warning("%r: fetching failed (%s); trying again", self, describe(error))
                await asyncio.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
                continue
            pause = _FIRST_PAUSE
            if not self._workers:
                # One at a time keeps the publisher's order, and needs no worker.
                for msg in batch:
                    await self._handle(msg)
                continue
            self._in_flight += len(batch)
            self._idle.clear()
            self._backlog.extend(batch)
            self._wake_one()

    def _wake_one(self) -> None:
        """Wake an idle worker, unless one is already on its way to the backlog."""
        if self._waking:
            return
        sleepers = self._sleepers
        while sleepers:
            sleeper = sleepers.popleft()
            if not sleeper.done():
                sleeper.set_result(None)
                self._waking += 1
                return

    async def _work(self) -> None:
        """Handle messages from the backlog, waking a helper before each handler.

        The helper takes the next message if this handler blocks; if the
        handler does not, this worker takes the next message itself and the
        helper finds nothing to do. Quick handlers thus run one after another
        in one task, at one wake-up per pull; blocking ones run side by side,
        up to ``prefetch``.
        """
        backlog = self._backlog
        loop = asyncio.get_running_loop()
        while True:
            if not backlog:
                sleeper: asyncio.Future[None] = loop.create_future()
                self._sleepers.append(sleeper)
                await sleeper
                self._waking -= 1
                continue
            msg = backlog.popleft()
            if backlog:
                self._wake_one()
            try:
                await self._handle(msg)
            except Exception:  # noqa: BLE001 - a worker must outlive any one message
                # _handle settles every handler outcome; this is a bug of ours or the
                # library's, logged, and the message comes again after ACK_WAIT.
                self._log.exception("%r: message on %s not handled", self, msg.subject)
            finally:
                self._in_flight -= 1
                if self._in_flight <= self._busiest:
                    self._slot_free.set()
                if not self._in_flight:
                    self._idle.set()

    async def _handle(self, msg: Msg) -> None:
        try:
            attempt = delivery_count(msg.reply)
        except (ValueError, IndexError):
            attempt = msg.metadata.num_delivered  # raises what nats-py says is wrong
        retry = self._retry
        if attempt > retry.max_deliver:
            # Delivered past the limit without being settled (handlers outlived ACK_WAIT,
            # or the process died): give up without running the handler once more.
            reason = f"delivered {attempt} times without being settled (ACK_WAIT)"
            await self._dead_letter(msg, attempt, reason)
            return
        delivery = delivery_of(
            msg, self.service, self._prefix_length, attempt, self._consumer.scope()
        )
        if self._consumer.expired(delivery, self._metrics):
            reason = "its producer's deadline passed before the handler started"
            await self._dead_letter(msg, attempt - 1, reason)
            return
        error = await self._consumer.handle(self._handler, delivery, self._metrics, self.queue)
        if error is not None:
            self._log.error(
                "%r: handler failed on message %s (attempt %d of %d)",
                self,
                delivery.message_id,
                attempt,
                retry.max_deliver,
                exc_info=error,
            )
            if attempt >= retry.max_deliver:
                await self._dead_letter(msg, attempt, describe(error))
            else:
                await self._settle(msg.nak(delay=retry.delay(attempt) or None), msg)
            return
        # Written out, not through _settle: this runs for every message.
        try:
            await msg.ack()
        except (nats.errors.Error, OSError) as error:
            self._log.debug("%r: acknowledging %s failed: %s", self, msg.subject, error)

    async def _dead_letter(self, msg: Msg, attempt: int, reason: str) -> None:
        js = self._js
        subject = dead_letter_subject(self._dead_letter_root, msg.subject)
        sequence = msg.metadata.sequence.stream
        headers = dead_letter_headers(msg, attempt, reason, self.queue, sequence)
        try:
            if js is None:
                raise nats.errors.ConnectionClosedError
            await js.publish(subject, msg.data, timeout=_CALL_TIMEOUT, headers=headers)
        except (nats.errors.Error, OSError, TimeoutError) as error:
            # Not stored, so not acknowledged: it comes again and is given up then.
            self._log.warning(
                "%r: dead-lettering message %s to %r failed (%s); it comes again",
                self,
                headers.get(MESSAGE_ID_HEADER),
                subject,
                describe(error),
            )
            await self._settle(msg.nak(delay=self._retry.longest_delay or None), msg)
            return
        self._log.error(
            "%r: giving up on message %s after %d attempt(s): %s; it is kept under %r",
            self,
            headers.get(MESSAGE_ID_HEADER),
            attempt,
            reason,
            subject,
        )
        await self._settle(msg.ack(), msg)

    async def _settle(self, action: Awaitable[None], msg: Msg) -> None:
        try:
            await action
        except (nats.errors.Error, OSError) as error:
            # The connection went away: the server delivers it again after ACK_WAIT.
            self._log.debug("%r: settling %s failed: %s", self, msg.subject, error)
