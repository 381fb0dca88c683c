#define STREAM_VSOCK 1
#include "tx_stream.c"
