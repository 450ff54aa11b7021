# An asyncio TCP echo server (run on usnet by programs_test.cpp): echoes every byte back
# until the client closes; prints LISTENING once the socket listens.
import asyncio
import sys


async def handle(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main(port):
    server = await asyncio.start_server(handle, "0.0.0.0", port, backlog=512)
    print("LISTENING", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
