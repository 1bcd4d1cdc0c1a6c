#!/usr/bin/python3
"""py-asyncio: one event loop, aiohttp, at most C requests in flight (a semaphore of C).
The work on a response runs on the loop's thread."""
import asyncio

import aiohttp

import conlab_client as cc


async def main():
    spec = cc.workload()
    method, url, headers, body, timeout = cc.request_args(spec)
    n, c = spec["requests"], spec["concurrency"]
    sem = asyncio.Semaphore(c)
    free_lanes = list(range(min(c, n)))
    connector = aiohttp.TCPConnector(limit=c, force_close=not spec.get("keepalive", True))
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:

        async def fetch(seq):
            async with sem:
                lane = free_lanes.pop()
                try:
                    delay = cc.due_in(spec, seq)
                    if delay > 0:
                        await asyncio.sleep(delay)
                    start = cc.now_us()
                    try:
                        async with session.request(method, url, headers=headers, data=body,
                                                   allow_redirects=False) as r:
                            data = await r.read()
                        cc.emit(seq, lane, start, cc.now_us(), r.status, len(data),
                                cc.error_kind(r.status))
                        cc.work(data, spec["work_us"])
                    except asyncio.TimeoutError:
                        cc.emit(seq, lane, start, cc.now_us(), 0, 0, "timeout", "timed out")
                    except aiohttp.ClientConnectorError as e:
                        cc.emit(seq, lane, start, cc.now_us(), 0, 0, "connect", str(e)[:180])
                    except aiohttp.ClientError as e:
                        cc.emit(seq, lane, start, cc.now_us(), 0, 0, "reset", str(e)[:180])
                finally:
                    free_lanes.append(lane)

        cc.hello("py-asyncio (aiohttp %s)" % aiohttp.__version__)
        await asyncio.gather(*(fetch(seq) for seq in range(n)))
    cc.done(n)


if __name__ == "__main__":
    asyncio.run(main())
