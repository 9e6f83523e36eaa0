#!/usr/bin/env python3
"""Deterministic qcow2 mutator for the differential check test.

usage: qcow2_mutate.py SRC DST SEED
Copies SRC to DST with a few seeded mutations aimed at metadata: header
fields, L1/L2 entries, the refcount table and refcount blocks. The same seed
always gives the same image, so a disagreement is reproducible by number."""
import random, struct, sys

src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(seed)
b = bytearray(open(src, 'rb').read())
be32 = lambda o: struct.unpack_from('>I', b, o)[0]
be64 = lambda o: struct.unpack_from('>Q', b, o)[0]
cb = be32(20); cs = 1 << cb
l1_size, l1_off = be32(36), be64(40)
rt_off, rt_cl = be64(48), be32(56)
nclusters = (len(b) + cs - 1) // cs

def entries(off, n):
    return [off + 8 * i for i in range(n) if off + 8 * i + 8 <= len(b)]

l1 = entries(l1_off, l1_size)
rt = entries(rt_off, rt_cl * cs // 8)
l2 = []
for e in l1:
    o = be64(e) & 0x00fffffffffffe00
    if o and o + cs <= len(b):
        l2 += entries(o, cs // 8)
rb = []
for e in rt:
    o = be64(e) & ~0x1ff & (2**64 - 1)
    if o and o + cs <= len(b):
        rb.append(o)

def rand_offset():
    k = rnd.random()
    if k < 0.6:
        return rnd.randrange(0, nclusters + 2) * cs       # a cluster, maybe past EOF
    if k < 0.8:
        return rnd.randrange(0, nclusters * cs) & ~0x1ff   # unaligned to the cluster
    return rnd.getrandbits(56) & ~0x1ff

for _ in range(rnd.choice([1, 1, 1, 2, 3])):
    kind = rnd.choice(['l1', 'l2', 'l2', 'rt', 'rb', 'rb', 'hdr', 'byte'])
    if kind == 'l1' and l1:
        e = rnd.choice(l1)
        v = rnd.choice([0, rand_offset() | (1 << 63), rand_offset(), be64(e) ^ (1 << 63)])
        struct.pack_into('>Q', b, e, v)
    elif kind == 'l2' and l2:
        nz = [e for e in l2 if be64(e)] or l2
        e = rnd.choice(nz)
        v = rnd.choice([0, 1, rand_offset() | (1 << 63), rand_offset(), be64(e) ^ (1 << 63),
                        be64(rnd.choice(nz)), be64(e) | 1])
        struct.pack_into('>Q', b, e, v)
    elif kind == 'rt' and rt:
        e = rnd.choice(rt)
        struct.pack_into('>Q', b, e, rnd.choice([0, rand_offset()]))
    elif kind == 'rb' and rb:
        o = rnd.choice(rb)
        i = rnd.randrange(0, min(cs // 2, nclusters + 4))
        old = struct.unpack_from('>H', b, o + 2 * i)[0]
        struct.pack_into('>H', b, o + 2 * i, rnd.choice([0, old + 1, max(old - 1, 0), 2, 0xffff]))
    elif kind == 'hdr':
        f = rnd.choice([(36, 4), (40, 8), (48, 8), (56, 4), (60, 4), (64, 8), (24, 8), (72, 8)])
        v = rnd.choice([0, rnd.getrandbits(8 * f[1]), rand_offset(), 1]) % (1 << (8 * f[1]))
        b[f[0]:f[0] + f[1]] = v.to_bytes(f[1], 'big')
    else:
        o = rnd.randrange(0, min(len(b), 8 * cs))
        b[o] = rnd.randrange(256)
open(dst, 'wb').write(b)
