#!/usr/bin/python3
"""The stand-in for Feast's Python feature server in `npm run bench:features`: FastAPI on uvicorn (uvloop,
httptools), one process, redis-py's asyncio client, the same Redis layout and the same answer as
`mlops features serve`.

POST /get-online-features takes Feast's request (`features` as "view:feature", `entities` as join key
columns, `full_feature_names`), validated with a pydantic model as Feast's server does; per entity row one
HMGET of the view's event time and the requested fields (one pipeline for several rows); the answer is
Feast's column-major JSON: entity columns first (PRESENT, zero timestamp), then per feature the values,
statuses (PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE with the view's TTL) and event timestamps.
Stored values are JSON texts and are decoded, as a Python server holding typed values would.

Usage: /usr/bin/python3 bench/features/fastapi_feature_server.py --port 8090 --redis-port 6379 \
    --key-prefix bench:customer: --ttl o=604800
"""

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

ZERO_TS = "1970-01-01T00:00:00Z"


class GetOnlineFeaturesRequest(BaseModel):
    entities: Dict[str, List[Any]]
    feature_service: Optional[str] = None
    features: Optional[List[str]] = None
    full_feature_names: bool = False


def iso(micros: int) -> str:
    """RFC 3339 UTC, as the mlops server writes it: no fraction on whole seconds, else 3 or 6 digits."""
    seconds, frac = divmod(micros, 1_000_000)
    base = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return base + "Z"
    if frac % 1000 == 0:
        return f"{base}.{frac // 1000:03d}Z"
    return f"{base}.{frac:06d}Z"


def build_app(client, key_prefix: str, ttls: Dict[str, float]) -> FastAPI:
    app = FastAPI()

    def error(status, message):
        return JSONResponse({"error": message}, status_code=status)

    @app.get("/health")
    async def health():
        return Response(status_code=200)

    @app.post("/get-online-features")
    async def get_online_features(request: Request):
        req = GetOnlineFeaturesRequest(**json.loads(await request.body()))
        if not req.features:
            return error(400, "features: is not a non-empty list")
        views: Dict[str, List[str]] = {}
        for ref in req.features:
            view, _, feature = ref.partition(":")
            if view not in ttls or not feature:
                return error(404, f"features: {ref!r} is not a feature of an online view")
            views.setdefault(view, []).append(feature)
        if len(req.entities) != 1:
            return error(400, "entities: this stand-in takes one join key")
        key_name, key_values = next(iter(req.entities.items()))
        keys = [str(int(v)) for v in key_values]
        now_us = time.time() * 1e6

        # One HMGET per row and view: the view's event time, then its requested fields.
        names = list(views)
        fields = {v: [f"_ts:{v}"] + [f"{v}:{f}" for f in views[v]] for v in names}
        if len(keys) == 1 and len(names) == 1:
            replies = [await client.hmget(key_prefix + keys[0], fields[names[0]])]
        else:
            pipe = client.pipeline(transaction=False)
            for v in names:
                for k in keys:
                    pipe.hmget(key_prefix + k, fields[v])
            replies = await pipe.execute()

        got: Dict[str, Dict[str, list]] = {}
        for i, v in enumerate(names):
            rows = replies[i * len(keys) : (i + 1) * len(keys)]
            cols = {f: ([], [], []) for f in views[v]}
            for reply in rows:
                ts = reply[0]
                fresh = ts is not None and now_us - int(ts) <= ttls[v] * 1e6
                ts_text = iso(int(ts)) if ts is not None else ZERO_TS
                for j, f in enumerate(views[v]):
                    values, statuses, stamps = cols[f]
                    stamps.append(ts_text)
                    if ts is None:
                        values.append(None)
                        statuses.append("NOT_FOUND")
                    elif not fresh:
                        values.append(None)
                        statuses.append("OUTSIDE_MAX_AGE")
                    else:
                        raw = reply[1 + j]
                        value = None if raw is None else json.loads(raw)
                        values.append(value)
                        statuses.append("NULL_VALUE" if value is None else "PRESENT")
            got[v] = cols

        feature_names = [key_name]
        results = [{"values": key_values, "statuses": ["PRESENT"] * len(keys), "event_timestamps": [ZERO_TS] * len(keys)}]
        for ref in req.features:
            view, _, feature = ref.partition(":")
            feature_names.append(f"{view}__{feature}" if req.full_feature_names else feature)
            values, statuses, stamps = got[view][feature]
            results.append({"values": values, "statuses": statuses, "event_timestamps": stamps})
        body = {"metadata": {"feature_names": feature_names}, "results": results}
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    return app


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis-port", type=int, required=True)
    p.add_argument("--key-prefix", required=True)
    p.add_argument("--ttl", action="append", required=True, help="view=seconds (0: unlimited)")
    a = p.parse_args()
    ttls = {}
    for t in a.ttl:
        view, seconds = t.split("=")
        ttls[view] = float(seconds) or float("inf")
    client = aioredis.Redis(host="127.0.0.1", port=a.redis_port)
    app = build_app(client, a.key_prefix, ttls)
    uvicorn.run(app, host="127.0.0.1", port=a.port, loop="uvloop", http="httptools", log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
