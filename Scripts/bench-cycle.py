#!/usr/bin/python3
"""One pod + one container, full lifecycle, timed from one client process on one connection, as
the kubelet drives a runtime: RunPodSandbox, CreateContainer, StartContainer, StopPodSandbox,
RemovePodSandbox. The same code drives skiffd and containerd, so the client's own cost is the same
on both sides and small (no process start per call).

  bench-cycle.py STUBS SOCKET IMAGE LOGDIR RUNS WARMUP   -> JSON {"times_ms": [...]} on stdout
STUBS holds api_pb2*.py generated from Protos/api.proto by grpc_tools.protoc (Scripts/bench-pods.sh).
"""
import json
import sys
import time

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402  (Debian's python3-grpcio)
import api_pb2 as cri  # noqa: E402
import api_pb2_grpc as cri_grpc  # noqa: E402

socket, image, logdir, runs, warmup = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
runtime = cri_grpc.RuntimeServiceStub(grpc.insecure_channel("unix://" + socket))


def cycle(n):
    pod = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name="cycle%d" % n, namespace="bench", uid="cycle-uid-%d" % n),
        log_directory="%s/cycle%d" % (logdir, n),
        linux=cri.LinuxPodSandboxConfig(security_context=cri.LinuxSandboxSecurityContext(
            namespace_options=cri.NamespaceOption(network=cri.NODE))))
    pod_id = runtime.RunPodSandbox(cri.RunPodSandboxRequest(config=pod)).pod_sandbox_id
    container = cri.ContainerConfig(metadata=cri.ContainerMetadata(name="app"), image=cri.ImageSpec(image=image),
                                    command=["/bin/sleep", "3600"], log_path="app.log")
    ctr = runtime.CreateContainer(cri.CreateContainerRequest(pod_sandbox_id=pod_id, config=container,
                                                             sandbox_config=pod)).container_id
    runtime.StartContainer(cri.StartContainerRequest(container_id=ctr))
    runtime.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    runtime.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod_id))


for i in range(warmup):
    cycle(i)
times = []
for i in range(runs):
    start = time.perf_counter()
    cycle(warmup + i)
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"times_ms": times}))
