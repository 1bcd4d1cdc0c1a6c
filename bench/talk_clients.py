"""The talk's four Python clients (requests, threads, asyncio+aiohttp, multiprocessing), each
timed like a conlab mode: from the mode's start to its end, pool start-up and shutdown included.
Prints {"sync": ms, "threads": ms, "async": ms, "processes": ms} as JSON.
Usage: python3 talk_clients.py URL REQUESTS CONCURRENCY"""
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

import aiohttp
import requests


def fetch(url):
    return requests.get(url).text


def sync(url, n, c):
    for _ in range(n):
        fetch(url)


def threads(url, n, c):
    with ThreadPoolExecutor(max_workers=c) as ex:
        list(ex.map(fetch, [url] * n))


def processes(url, n, c):
    with Pool(c) as pool:
        pool.map(fetch, [url] * n)


def asyncio_mode(url, n, c):
    async def main():
        sem = asyncio.Semaphore(c)
        async with aiohttp.ClientSession() as session:
            async def one():
                async with sem:
                    async with session.get(url) as r:
                        return await r.text()
            await asyncio.gather(*(one() for _ in range(n)))
    asyncio.run(main())


def main():
    url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = {}
    for name, fn in (("sync", sync), ("threads", threads), ("async", asyncio_mode),
                     ("processes", processes)):
        t0 = time.perf_counter()
        fn(url, n, c)
        out[name] = (time.perf_counter() - t0) * 1000
    print(json.dumps(out))


if __name__ == "__main__":
    main()
