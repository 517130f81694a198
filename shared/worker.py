"""The frame of every stream worker: a faust app, one consuming agent, and failure handling.

faust acks an event in a ``finally`` (also when the code raised or was cancelled by shutdown), so
the agents here iterate a ``noack()`` stream and ack by hand, only after the handler's effect is
committed. Failures are classified:

* :class:`~shared.events.UndecodableMessage` or :class:`PoisonMessage` — bad input: the message goes
  to the dead-letter topic with the reason (and the handler's ``on_poison`` records it where a user
  sees it, e.g. the import fails with that reason), then it is acked and the stream goes on.
* the database refusing the data, or any other exception the handler did not expect — the same:
  one workspace's message that trips a bug must not stop the worker for every workspace (the
  exception is logged with its traceback).
* transient faults of the worker's own infrastructure (connections, timeouts, serialisation
  conflicts) — retried with bounded, jittered back-off; when they last (the database or the
  broker is down), the process exits (code 70) without acking, the supervisor restarts it and
  the message is delivered again.
* a statement cancelled by the statement timeout — retried twice (a lock wait), then poison.

A bad deploy, not bad data, shows as poison across workspaces: ``MAX_CONSECUTIVE_POISON``
messages in a row that were all poison, from at least two workspaces, stop the worker loudly
(draining the topic into dead letters would lose it all). A run of poison from a single
workspace never does: that is one tenant's data, and the others go on.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, TypeVar

import asyncpg
import faust
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from tenacity import RetryCallState, retry_if_exception, retry_if_exception_type

from shared import db, retry
from shared.errors import PoisonMessage, UndecodableMessage
from shared.events import Envelope, decode
from shared.kafka import make_producer, send_dead_letter
from shared.logs import get_logger, import_context, setup_logging
from shared.runtime import tune_gc
from shared.settings import Settings, get_settings
from shared.topics import MAX_MESSAGE_BYTES, Topic

log = get_logger(__name__)
_T = TypeVar("_T")

MAX_CONSECUTIVE_POISON = 100
MAX_SLOW_ATTEMPTS = 3  # statement timeouts of one message before it counts as poison

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    KafkaError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection left mid-operation when the server went away
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.AdminShutdownError,
)


# Errors the database raises for the data itself: retrying the same message cannot help.
PERMANENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
)
SLOW_ERRORS: tuple[type[BaseException], ...] = (asyncpg.QueryCanceledError,)


# A handler returns None when the message is done, or an awaitable still finishing it (a
# "tail", e.g. a commit in flight while the next message is prepared): acked once it is done.
Tail = Awaitable[None]
Handler = Callable[[Envelope], Awaitable[Tail | None]]
PoisonHook = Callable[[Envelope | None, str], Awaitable[None]]


def fatal(message: str) -> NoReturn:
    """Log and exit at once, without acking anything in flight."""
    log.critical(message)
    for handler in log.handlers or []:
        handler.flush()
    sys.stderr.flush()
    os._exit(70)


def make_app(service: str, settings: Settings, default_web_port: int, buffer: int = 4) -> faust.App:
    """A faust app with our conventions: raw bytes, no auto-declared topics, earliest offsets;
    ``buffer`` messages fetched ahead of the agent at most."""
    datadir = settings.worker_data_dir / service
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"usher-{service}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
        # A message can hold thousands of rows: buffer a few, not faust's default 4096, so a
        # worker that runs behind holds a bounded amount in memory (it stays in Kafka instead).
        # Once the buffer is full faust fetches nothing for a second (its consumer's
        # _wait_next_records), so a worker of small messages takes at most about ``buffer``
        # a second: the messenger buffers more (serve's ``buffer``).
        stream_buffer_maxsize=buffer,
        broker_max_poll_records=buffer,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        broker_commit_interval=1.0,
        # A killed worker's partitions return to its restarted self (or a sibling) after the
        # session timeout: 10 s instead of faust's 60 s keeps a crash a short pause.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        web_host="127.0.0.1",
        web_bind=settings.worker_web_bind,  # web_host is only the advertised name
        web_port=settings.worker_web_port or default_web_port,
        web_in_thread=False,
        autodiscover=False,
        store="memory://",
        datadir=str(datadir),
    )

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "service": service})

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        from prometheus_client import generate_latest

        return web.bytes(generate_latest(), content_type="text/plain; version=0.0.4")

    @app.task  # type: ignore[untyped-decorator]
    async def _logging() -> None:
        setup_logging(service, settings.log_level)  # faust configured its own on start

    return app


class Consumer:
    """Consumes one topic with one agent (concurrency 1: faust may otherwise commit past an
    event still in flight), handling each message per the module's failure rules."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topic: Topic,
        handler: Handler,
        *,
        on_poison: PoisonHook | None = None,
        on_start: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.topic_name = topic.name(settings)
        self.handler = handler
        self.on_poison = on_poison
        self.on_start = on_start
        self.poison = PoisonBudget(MAX_CONSECUTIVE_POISON)
        self.sleep: retry.Sleep = asyncio.sleep  # the back-off's clock (tests inject theirs)
        self._producer: AIOKafkaProducer | None = None
        self.started = False
        channel = app.topic(self.topic_name, key_type=bytes, value_type=bytes)

        async def agent(stream: faust.StreamT[bytes]) -> None:
            await self._start()
            manual = stream.noack()  # type: ignore[attr-defined]
            acks = InOrderAcks(manual.ack)
            async for event in manual.events():
                await acks.add(event, await self.process(event.key, event.value))

        app.agent(channel, name=f"{self.topic_name}-agent", concurrency=1)(agent)

    @property
    def producer(self) -> AIOKafkaProducer:
        """The worker's producer; exists once the agent started (it needs the running loop)."""
        assert self._producer is not None, "the consumer has not started yet"
        return self._producer

    async def _start(self) -> None:
        if self.started:
            return
        self._producer = make_producer(self.settings)
        await self._producer.start()
        try:
            if self.on_start is not None:
                await self.on_start()  # may use self.producer
        except BaseException:
            await self._producer.stop()  # faust restarts the agent, which makes a new one
            self._producer = None
            raise
        self.started = True

    async def process(self, key: bytes | None, value: bytes | None) -> Awaitable[None] | None:
        """Handle one message (never raises). Returns None when it may be acked now, or the
        tail its handler left running: the message may be acked once that is done."""
        try:
            envelope = decode(value)
        except UndecodableMessage as exc:
            await self._poison(None, key, value, str(exc))
            return None
        with import_context(envelope.correlation_id):
            outcome = await run_by_the_rules(
                lambda: self.handler(envelope), what=self.topic_name, sleep=self.sleep
            )
            if isinstance(outcome, Refused):
                await self._poison(envelope, key, value, outcome.reason)
                return None
            self.poison.fine()
            return outcome

    async def _poison(
        self, envelope: Envelope | None, key: bytes | None, value: bytes | None, reason: str
    ) -> None:
        retrying = retry.WORKER.retrying(
            retry_if_exception_type(TRANSIENT_ERRORS), sleep=self.sleep, before_sleep=_log_retry
        )
        try:
            await retrying(
                send_dead_letter,
                self.producer,
                self.settings,
                source_topic=self.topic_name,
                key=key,
                value=value,
                reason=reason,
            )
        except TRANSIENT_ERRORS:
            fatal("stopping: cannot reach the dead-letter topic")
        if self.on_poison is not None:
            try:
                await retry.WORKER.retrying(
                    retry_if_exception_type(TRANSIENT_ERRORS), sleep=self.sleep
                )(self.on_poison, envelope, reason)
            except Exception:  # recording it where a user sees it failed: it is parked anyway
                log.exception("the poison hook failed")
        if self.poison.spoilt(_workspace(envelope) if envelope is not None else None):
            fatal(
                f"stopping: {self.poison.limit} poison messages in a row on {self.topic_name},"
                " from several workspaces; this looks like a bad deploy, not bad data"
            )


@dataclass(frozen=True)
class Refused:
    """Why a piece of work cannot be done (poison, in the module docstring's terms)."""

    reason: str


async def run_by_the_rules(
    work: Callable[[], Awaitable[_T]], *, what: str, sleep: retry.Sleep = asyncio.sleep
) -> _T | Refused:
    """``work`` under the failure rules of the module docstring: what it returned, or — bad
    input, the database refusing the data, a bug, a statement timeout that lasts — why it was
    refused; transient faults are retried with back-off, and stop the process (``what`` kept
    failing) when they last. The agents' messages run this way, and so does work a handler
    runs beside its agent (the parser's file reads)."""
    slow = 0

    def again(exc: BaseException) -> bool:
        nonlocal slow
        if isinstance(exc, SLOW_ERRORS):
            slow += 1
            return slow < MAX_SLOW_ATTEMPTS
        return isinstance(exc, TRANSIENT_ERRORS)

    retrying = retry.WORKER.retrying(
        retry_if_exception(again), sleep=sleep, before_sleep=_log_retry
    )

    async def attempt() -> _T:  # a coroutine function: tenacity awaits what it returns
        return await work()

    try:
        result: _T = await retrying(attempt)
    except PoisonMessage as exc:
        return Refused(str(exc))
    except PERMANENT_DB_ERRORS as exc:
        return Refused(f"the database refused it: {exc}")
    except SLOW_ERRORS as exc:
        return Refused(f"it kept running past the statement timeout: {exc}")
    except TRANSIENT_ERRORS:
        fatal(f"stopping: {what} kept failing after {retry.WORKER.attempts} tries")
    except Exception as exc:
        log.exception("unexpected failure in %s", what)
        return Refused(f"it could not be processed ({type(exc).__name__}; see the log)")
    return result


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.warning(
        "transient failure, retrying",
        extra={"error": repr(error), "attempt": state.attempt_number},
    )


def _workspace(envelope: Envelope) -> str | None:
    return getattr(envelope.payload, "workspace_id", None)


class PoisonBudget:
    """Tells a bad deploy from bad data: ``limit`` poison messages in a row, from at least two
    workspaces (an undecodable message counts as a workspace of its own)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.run: deque[str | None] = deque(maxlen=limit)

    def fine(self) -> None:
        """A message was processed: the run of poison is over."""
        self.run.clear()

    def spoilt(self, workspace: str | None) -> bool:
        """Count a poison message; True when the worker should stop."""
        self.run.append(workspace)
        return len(self.run) >= self.limit and len(set(self.run)) >= 2


class InOrderAcks:
    """Acks events in arrival order, each once it and every event before it are finished.

    An event is finished when its handler returned, or — when the handler left a *tail*
    running (a commit in flight) — once that tail succeeded. A tail that failed or was
    cancelled (shutdown) is never acked, nor anything after it: those messages are delivered
    again after the restart this leads to.
    """

    def __init__(self, ack: Callable[[Any], Awaitable[Any]]) -> None:
        self._ack = ack
        self._waiting: deque[tuple[Any, asyncio.Future[None] | None]] = deque()
        self._acking: set[asyncio.Future[None]] = set()

    async def add(self, event: Any, tail: Awaitable[None] | None) -> None:
        future = asyncio.ensure_future(tail) if tail is not None else None
        self._waiting.append((event, future))
        if future is not None:
            future.add_done_callback(self._on_tail_done)
        await self.ack_finished()

    async def ack_finished(self) -> None:
        while self._waiting:
            event, tail = self._waiting[0]
            if tail is not None and not _succeeded(tail):
                return
            self._waiting.popleft()
            await self._ack(event)

    def _on_tail_done(self, _tail: asyncio.Future[None]) -> None:
        task = asyncio.ensure_future(self.ack_finished())
        self._acking.add(task)
        task.add_done_callback(self._acking.discard)


def _succeeded(tail: asyncio.Future[None]) -> bool:
    return tail.done() and not tail.cancelled() and tail.exception() is None


class WorkerHandler(Protocol):
    """What :func:`serve` runs: a handler of envelopes, made once the worker has a pool and
    a producer; ``on_poison`` (optional) records a parked message where a user sees it."""

    async def __call__(self, envelope: Envelope) -> Tail | None: ...


MakeHandler = Callable[[Settings, asyncpg.Pool, AIOKafkaProducer], WorkerHandler]


def serve(
    service: str,
    topics: Sequence[Topic],
    make_handler: MakeHandler,
    *,
    default_web_port: int,
    timers: Mapping[str, float] | None = None,
    pool_size: int | None = None,
    buffer: int = 4,
) -> None:
    """Run a stream worker (blocks): one consumer per topic, all feeding one handler made by
    ``make_handler(settings, pool, producer)`` when the first consumer starts; each entry of
    ``timers`` (a method name of the handler → seconds) runs that method periodically, an
    exception in it logged, never stopping the worker; ``buffer``: see :func:`make_app`. This
    is every worker's ``main``."""
    settings = get_settings()
    setup_logging(service, settings.log_level)
    app = make_app(service, settings, default_web_port, buffer)
    made: list[WorkerHandler] = []
    starting = asyncio.Lock()

    async def handle(envelope: Envelope) -> Tail | None:
        return await made[0](envelope)

    async def on_poison(envelope: Envelope | None, reason: str) -> None:
        hook = getattr(made[0], "on_poison", None) if made else None
        if hook is not None:
            await hook(envelope, reason)

    consumers: list[Consumer] = []

    async def start() -> None:
        async with starting:  # every consumer calls this; one pool, one handler
            if not made:
                pool = await db.create_pool(
                    settings.database_url,
                    pool_size or settings.db_pool_size,
                    statement_timeout_s=settings.worker_statement_timeout_s,
                )
                made.append(make_handler(settings, pool, consumers[0].producer))

    for topic in topics:
        consumers.append(
            Consumer(app, settings, topic, handle, on_poison=on_poison, on_start=start)
        )
    for name, interval in (timers or {}).items():
        _add_timer(app, made, name, interval)
    run_worker(app)


def _add_timer(app: faust.App, made: list[Any], name: str, interval: float) -> None:
    async def tick() -> None:
        if not made:
            return
        try:
            await getattr(made[0], name)()
        except TRANSIENT_ERRORS as exc:
            log.warning(f"{name} failed, will retry", extra={"error": repr(exc)})
        except Exception:  # an exception escaping a faust timer would stop the worker
            log.exception(f"{name} failed, will retry")

    tick.__name__ = tick.__qualname__ = name  # faust names the timer after its function
    app.timer(interval=interval)(tick)


def run_worker(app: faust.App) -> None:
    """Run the faust worker (blocks). SIGTERM stops it; unacked messages are redelivered."""
    tune_gc()
    sys.argv = [sys.argv[0], "worker", "--loglevel=warn"]  # its web server serves /healthz
    app.main()
