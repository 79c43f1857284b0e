/* CRC-32C (Castagnoli), the checksum of every log record and snapshot. */
#ifndef BERTH_STORE_CRC32C_H
#define BERTH_STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes. Uses the SSE4.2 instruction when
 * the CPU has it, else slicing-by-8 tables; both give the same value. */
uint32_t berth_crc32c(uint32_t crc, const void *data, size_t len);
/* The table-driven implementation alone, for tests and other CPUs. */
uint32_t berth_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
