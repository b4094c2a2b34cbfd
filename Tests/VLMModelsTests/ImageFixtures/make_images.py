"""Writes the small PNG/JPEG test images of this folder and, for each, the RGB bytes Pillow decodes
(`Image.open(f)`, `ImageOps.exif_transpose`, `.convert("RGB")`) as NAME.rgb, plus expected.json with the sizes.
PNGs are written by hand (every colour type, bit depth and Adam7 interlacing); JPEGs by Pillow.
Run with Pillow installed: python3 make_images.py  (output is deterministic)."""
import io, json, struct, zlib, random
from PIL import Image, ImageOps

random.seed(1234)
W, H = 13, 7
expected = {}

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

def pack_row(samples, depth):
    if depth >= 8:
        return b"".join(s.to_bytes(depth // 8, "big") for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        bits += depth
        if bits == 8:
            out.append(acc); acc = bits = 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

def png(color_type, depth, pixels, interlaced=False, extra=b""):
    """pixels[y][x] is a tuple of samples for the colour type."""
    raw = bytearray()
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, W, dx))
        if not xs:
            continue
        for y in range(y0, H, dy):
            samples = [s for x in xs for s in pixels[y][x]]
            filt = random.randrange(5) if depth >= 8 else 0
            row = pack_row(samples, depth)
            raw.append(filt)
            raw += filter_row(filt, row, prev_rows.get((x0, y0, dx, dy)), max(1, depth * len(pixels[y][0]) // 8))
            prev_rows[(x0, y0, dx, dy)] = row
    prev_rows.clear()
    ihdr = struct.pack(">IIBBBBB", W, H, depth, color_type, 0, 0, 1 if interlaced else 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")

prev_rows = {}

def filter_row(kind, row, prev, bpp):
    prev = prev or bytes(len(row))
    out = bytearray()
    for i, v in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 0: p = 0
        elif kind == 1: p = a
        elif kind == 2: p = b
        elif kind == 3: p = (a + b) // 2
        else:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        out.append((v - p) & 0xFF)
    return bytes(out)

def grid(channels, depth):
    top = (1 << depth) - 1
    return [[tuple(random.randint(0, top) for _ in range(channels)) for x in range(W)] for y in range(H)]

def record(name, data):
    open(name, "wb").write(data)
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image).convert("RGB")
    open(name.rsplit(".", 1)[0] + ".rgb", "wb").write(image.tobytes())
    expected[name] = {"width": image.width, "height": image.height}

for depth in [1, 2, 4, 8, 16]:
    record(f"gray{depth}.png", png(0, depth, grid(1, depth)))
record("gray2_interlaced.png", png(0, 2, grid(1, 2), interlaced=True))
record("gray8_trns.png", png(0, 8, grid(1, 8), extra=chunk(b"tRNS", struct.pack(">H", 7))))
for depth in [8, 16]:
    record(f"gray_alpha{depth}.png", png(4, depth, grid(2, depth)))
    record(f"rgb{depth}.png", png(2, depth, grid(3, depth)))
    record(f"rgba{depth}.png", png(6, depth, grid(4, depth)))
record("rgb8_interlaced.png", png(2, 8, grid(3, 8), interlaced=True))
record("rgba16_interlaced.png", png(6, 16, grid(4, 16), interlaced=True))
for depth in [1, 2, 4, 8]:
    colors = 1 << depth
    palette = bytes(random.randrange(256) for _ in range(3 * colors))
    trns = bytes(random.randrange(256) for _ in range(colors // 2 + 1))
    extra = chunk(b"PLTE", palette) + chunk(b"tRNS", trns)
    record(f"palette{depth}.png", png(3, depth, grid(1, depth), extra=extra))
    if depth == 4:
        record("palette4_interlaced.png", png(3, 4, grid(1, 4), interlaced=True, extra=extra))

# JPEGs: a smooth colour field with edges, 37 x 23.
field = Image.new("RGB", (37, 23))
field.putdata([((x * 7 + y * 3) % 256, (x * x + 5 * y) % 256, (200 - 6 * y + (x % 5) * 20) % 256) for y in range(23) for x in range(37)])
def jpeg(**options):
    b = io.BytesIO(); field.save(b, "JPEG", **options); return b.getvalue()
record("baseline420.jpg", jpeg(quality=80))
record("baseline444.jpg", jpeg(quality=92, subsampling=0))
record("progressive.jpg", jpeg(quality=75, progressive=True))
g = io.BytesIO(); field.convert("L").save(g, "JPEG", quality=85); record("gray.jpg", g.getvalue())
for orientation in range(1, 9):
    exif = Image.Exif(); exif[0x0112] = orientation
    record(f"exif{orientation}.jpg", jpeg(quality=85, exif=exif.tobytes()))

json.dump(expected, open("expected.json", "w"), indent=1, sort_keys=True)
