# SPDX-License-Identifier: MIT
# The program the README watches with `taskport run`: 20 threads after
# 200 ms, then 32 MiB filled, then all of it ended 0.5 s later.
import threading, time
time.sleep(0.2)
go = threading.Event()
threads = [threading.Thread(target=go.wait) for _ in range(20)]
for t in threads: t.start()
block = bytearray(32 << 20)          # 32 MiB, touched
for i in range(0, len(block), 4096): block[i] = 1
print("20 threads started", flush=True)
time.sleep(0.5)
go.set()
for t in threads: t.join()
