/* The REST API's paths as Cloud Hypervisor v51.0 serves them under /api/v1: which method, which
 * body schema, whether the request may carry fds, and for the endpoints whose feature cellvm
 * lacks, the error status the OpenAPI file allows and the feature to name. */
#ifndef CELLVM_CORE_API_API_ROUTES_H
#define CELLVM_CORE_API_API_ROUTES_H

#include <stdbool.h>

#include "api.pb-c.h"

#define API_PREFIX "/api/v1"

enum api_method { API_GET, API_PUT };

struct api_route {
    const char *path; /* after API_PREFIX: "/vm.create" */
    enum api_method method;
    Cellvm__ApiEndpoint endpoint;           /* API_UNSPECIFIED: not implemented */
    const ProtobufCMessageDescriptor *body; /* NULL: no body is read */
    bool takes_fds;
    const char *missing; /* feature named when not implemented */
    int missing_status;
};

/* The route for a request path (query string already removed), or NULL. */
const struct api_route *api_route_find(const char *path);

/* Every route, for tests and cellvm-remote. */
const struct api_route *api_routes(unsigned *n);

#endif
