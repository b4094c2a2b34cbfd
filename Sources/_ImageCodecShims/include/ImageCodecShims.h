#ifndef VTP_IMAGE_CODEC_SHIMS_H
#define VTP_IMAGE_CODEC_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/// The result of decoding: 8-bit RGB pixels (malloc'ed, free with vtp_image_free), the size, the EXIF
/// orientation (1 when absent; from JPEG's first EXIF APP1 or PNG's eXIf chunk) or an error message.
typedef struct {
    uint8_t *pixels;
    int width;
    int height;
    int orientation;
    char error[200];
} vtp_decoded_image;

/// Decodes a PNG the way Pillow's `Image.open(...).convert("RGB")` does: every bit depth and colour type,
/// interlaced or not, 16-bit samples reduced to their high byte (16-bit grey without alpha clipped to 255,
/// as Pillow's I;16 -> L does), palettes expanded, alpha dropped; the eXIf orientation read. Images with more than
/// `max_pixels` pixels are refused; at most 32 ancillary chunks are kept, none larger than 8 MiB decompressed.
/// Returns 0 on success.
int vtp_decode_png(const uint8_t *data, size_t size, size_t max_pixels, vtp_decoded_image *out);

/// Decodes a baseline or progressive JPEG to RGB with libjpeg's defaults (islow DCT, fancy upsampling), as
/// Pillow does, and reads the EXIF orientation. Images with more than `max_pixels` pixels, or CMYK/YCCK
/// JPEGs, are refused before any pixel is decoded; so are truncated data (libjpeg would pad it with grey) and
/// progressive JPEGs of more than 1,000 scans. Returns 0 on success.
int vtp_decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, vtp_decoded_image *out);

/// Frees the pixels of a decoded image.
void vtp_image_free(vtp_decoded_image *image);

#endif
