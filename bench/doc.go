// Package bench holds wasicert's benchmarks, beside the suites as critest
// keeps benchmark/ beside validate/:
//
//   - BenchmarkCapabilitySuite (suite_test.go): the whole catalogue on
//     embedded wazero, with the harness's own cost per spec apart from the
//     runtime's (make bench);
//   - bench/certify: `wasicert certify` then `wasicert verify` per
//     installed runtime, end to end, with the bundle's size (make bench);
//   - bench/pods: a probe run as a pod through containerd's CRI against
//     the same run as a container through the containerd client, side by
//     side on one private containerd 2.2.9 and 1.6.20 with our shim (make
//     bench, as root);
//   - bench/containers: the same hello as a wasm container through our shim
//     and as a Linux container through runc on one private containerd:
//     image size, cold start, peak memory (make bench-containers, as root;
//     docs/bench-containers.md).
//
// Their statistics (median, p90) are computed in one place, bench/internal/stats.
package bench
