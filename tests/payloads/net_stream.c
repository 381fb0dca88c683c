#define STREAM_NET 1
#include "tx_stream.c"
