//! istiod: the certificate signing flow (CSR authorisation, rate limits, outages) and its logs.
