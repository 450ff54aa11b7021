# N concurrent TCP clients (the kernel's, in programs_test.cpp): each connects to the echo
# server, sends its own seeded bytes in pieces while reading the echo, and compares what
# came back with what it sent. Prints "OK <clients> <bytes>" or the first failure.
import asyncio
import hashlib
import random
import sys


async def client(host, port, i, size):
    data = random.Random(i).randbytes(size)
    reader, writer = await asyncio.open_connection(host, port)

    async def send():
        for off in range(0, size, 4096):
            writer.write(data[off:off + 4096])
            await writer.drain()

    sender = asyncio.create_task(send())
    got = await reader.readexactly(size)
    await sender
    writer.close()
    await writer.wait_closed()
    if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
        raise RuntimeError(f"client {i}: echoed bytes differ")
    return size


async def main(host, port, n, size):
    # Every client connected at once: the server holds n connections concurrently.
    results = await asyncio.wait_for(
        asyncio.gather(*(client(host, port, i, size) for i in range(n))), timeout=60)
    print(f"OK {len(results)} {sum(results)}", flush=True)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
