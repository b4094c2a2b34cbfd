#include "ImageCodecShims.h"

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vtp_image_free(vtp_decoded_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}

/* ---------- EXIF ---------- */

/* The orientation (1...8) in EXIF data (a TIFF header and its first IFD, as PNG's eXIf chunk holds it and JPEG's
   APP1 marker after "Exif\0\0"), or 1. */
static int exif_orientation(const uint8_t *tiff, size_t size) {
    if (size < 8) return 1;
    int little = tiff[0] == 'I';
    #define U16(o) (little ? (uint16_t)(tiff[o] | tiff[(o) + 1] << 8) : (uint16_t)(tiff[o] << 8 | tiff[(o) + 1]))
    #define U32(o) (little ? (uint32_t)tiff[o] | (uint32_t)tiff[(o) + 1] << 8 | (uint32_t)tiff[(o) + 2] << 16 | (uint32_t)tiff[(o) + 3] << 24 \
                           : (uint32_t)tiff[o] << 24 | (uint32_t)tiff[(o) + 1] << 16 | (uint32_t)tiff[(o) + 2] << 8 | (uint32_t)tiff[(o) + 3])
    if (tiff[0] != 'I' && tiff[0] != 'M') return 1;
    uint32_t ifd = U32(4);
    if (ifd > size - 2) return 1;
    uint16_t count = U16(ifd);
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = ifd + 2 + (size_t)i * 12;
        if (entry + 12 > size) return 1;
        if (U16(entry) == 0x0112) {
            uint16_t value = U16(entry + 8);
            return value >= 1 && value <= 8 ? value : 1;
        }
    }
    return 1;
    #undef U16
    #undef U32
}

/* ---------- PNG ---------- */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
} png_memory;

static void png_read_memory(png_structp png, png_bytep out, png_size_t count) {
    png_memory *m = (png_memory *)png_get_io_ptr(png);
    if (count > m->size - m->offset) png_error(png, "truncated file");
    memcpy(out, m->data + m->offset, count);
    m->offset += count;
}

static void png_report(png_structp png, png_const_charp message) {
    vtp_decoded_image *out = (vtp_decoded_image *)png_get_error_ptr(png);
    snprintf(out->error, sizeof out->error, "PNG: %s", message);
    png_longjmp(png, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

int vtp_decode_png(const uint8_t *data, size_t size, size_t max_pixels, vtp_decoded_image *out) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    png_memory memory = {data, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, out, png_report, png_ignore_warning);
    if (!png) { snprintf(out->error, sizeof out->error, "PNG: out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    uint8_t *volatile raw = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(rows);
        free(raw);
        vtp_image_free(out);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        if (!out->error[0]) snprintf(out->error, sizeof out->error, "PNG: cannot decode");
        return 1;
    }
    png_set_read_fn(png, &memory, png_read_memory);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    /* Ancillary chunks: at most 32 are kept (later text chunks are skipped undecompressed) and none may
       decompress beyond 8 MiB, so a file of many large chunks costs bounded work. */
    png_set_chunk_malloc_max(png, 8u << 20);
    png_set_chunk_cache_max(png, 32);
    png_read_info(png, info);
    png_uint_32 exif_size = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &exif_size, &exif) && exif) out->orientation = exif_orientation(exif, exif_size);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if ((size_t)width * height > max_pixels) {
        snprintf(out->error, sizeof out->error, "PNG: %ux%u pixels is more than the %zu allowed", width, height, max_pixels);
        png_longjmp(png, 1);
    }
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    int gray = !(type & PNG_COLOR_MASK_COLOR) && type != PNG_COLOR_TYPE_PALETTE;
    /* Pillow reads 16-bit grey (without alpha) as I;16 and clips it to 255 in convert("RGB"); every other
       16-bit sample keeps its high byte. Keep 16-bit grey samples whole and clip below. */
    int clip_gray16 = type == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (gray && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !clip_gray16) png_set_strip_16(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (clip_gray16) png_set_swap(png);  /* native little-endian 16-bit values */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    int channels = png_get_channels(png, info);
    raw = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    out->pixels = malloc((size_t)width * height * 3);
    if (!raw || !rows || !out->pixels) { snprintf(out->error, sizeof out->error, "PNG: out of memory"); png_longjmp(png, 1); }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = raw + y * row_bytes;
    png_read_image(png, rows);
    for (png_uint_32 y = 0; y < height; y++) {
        for (png_uint_32 x = 0; x < width; x++) {
            uint8_t *dst = out->pixels + ((size_t)y * width + x) * 3;
            if (clip_gray16) {
                uint16_t v = ((const uint16_t *)rows[y])[x * channels];
                dst[0] = dst[1] = dst[2] = v > 255 ? 255 : (uint8_t)v;
            } else if (channels >= 3) {
                memcpy(dst, rows[y] + x * channels, 3);
            } else {
                dst[0] = dst[1] = dst[2] = rows[y][x * channels];
            }
        }
    }
    free(rows);
    free(raw);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width;
    out->height = (int)height;
    return 0;
}

/* ---------- JPEG ---------- */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    vtp_decoded_image *out;
} jpeg_failure;

static void jpeg_report(j_common_ptr cinfo) {
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, message);
    snprintf(failure->out->error, sizeof failure->out->error, "JPEG: %s", message);
    longjmp(failure->jump, 1);
}

/* Warnings are ignored as Pillow ignores them, except a premature end of the data: libjpeg would pad the image
   with grey, Pillow refuses a truncated file. */
static void jpeg_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_report(cinfo);
}

/* Most scans a progressive JPEG may have (libjpeg-turbo's advice for untrusted input is a few hundred). */
#define VTP_JPEG_MAX_SCANS 1000

static void jpeg_count_scans(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->is_decompressor && d->input_scan_number > VTP_JPEG_MAX_SCANS) {
        jpeg_failure *failure = (jpeg_failure *)cinfo->err;
        snprintf(failure->out->error, sizeof failure->out->error, "JPEG: more than %d scans", VTP_JPEG_MAX_SCANS);
        longjmp(failure->jump, 1);
    }
}

int vtp_decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, vtp_decoded_image *out) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    cinfo.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_report;
    failure.base.emit_message = jpeg_message;
    struct jpeg_progress_mgr progress = {jpeg_count_scans, 0, 0, 0, 0};
    failure.out = out;
    uint8_t *volatile pixels = NULL;
    if (setjmp(failure.jump)) {
        free(pixels);
        out->pixels = NULL;
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    cinfo.mem->max_memory_to_use = 512L << 20;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    if ((size_t)cinfo.image_width * cinfo.image_height > max_pixels) {
        snprintf(out->error, sizeof out->error, "JPEG: %ux%u pixels is more than the %zu allowed",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        longjmp(failure.jump, 1);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(out->error, sizeof out->error, "JPEG: CMYK images are not supported");
        longjmp(failure.jump, 1);
    }
    /* The first APP1 that is EXIF (an XMP APP1 may come before it). */
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            out->orientation = exif_orientation(m->data + 6, m->data_length - 6);
            break;
        }
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * 3;
    pixels = malloc(stride * cinfo.output_height);
    if (!pixels) { snprintf(out->error, sizeof out->error, "JPEG: out of memory"); longjmp(failure.jump, 1); }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    out->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
