# A throwaway S3 server (moto, from PyPI) on a free loopback port, for S3BlobStore's tests.
# Sourced by scripts/test, after packages.sh.
#
# Moto accepts any request by default. s3_start therefore first makes, while moto still lets
# everything through, an IAM user whose access key may do s3:* and the test bucket, then turns on
# moto's request authentication: from then on a request must carry a valid SigV4 signature of that
# key (moto recomputes it), so a wrong secret is refused with SignatureDoesNotMatch as on AWS.

# s3_start FOLDER: starts moto with its log in FOLDER/s3/moto.log; exports COURIER_TEST_S3_ENDPOINT,
# COURIER_TEST_S3_BUCKET, COURIER_TEST_S3_REGION, COURIER_TEST_S3_ACCESS_KEY_ID and
# COURIER_TEST_S3_SECRET_ACCESS_KEY.
s3_start() {
    local folder=$1 port endpoint pid credentials waited=0
    ensure_python_modules "moto.server boto3" "moto[server]>=5,<6"
    port=$(free_port)
    endpoint="http://127.0.0.1:$port"
    mkdir -p "$folder/s3"
    python3 -m moto.server -H 127.0.0.1 -p "$port" >"$folder/s3/moto.log" 2>&1 &
    pid=$!
    echo "$pid" >"$folder/s3/moto.pid"

    # Up to 30 s for it to answer HTTP (any status will do).
    until python3 - "$endpoint" <<'PY' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=1).close()
except urllib.error.HTTPError:
    pass
PY
    do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "scripts/test: moto exited at start:" >&2
            cat "$folder/s3/moto.log" >&2
            return 1
        fi
        if [ "$waited" -ge 60 ]; then
            echo "scripts/test: moto did not answer on $endpoint within 30 s:" >&2
            cat "$folder/s3/moto.log" >&2
            s3_stop "$folder"
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done

    # The user, its key, the bucket, then authentication on. Prints "KEY_ID SECRET".
    credentials=$(python3 - "$endpoint" <<'PY'
import json, sys, urllib.request
import boto3

endpoint = sys.argv[1]
setup = dict(endpoint_url=endpoint, region_name="us-east-1",
             aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **setup)
iam.create_user(UserName="courier-test")
iam.put_user_policy(UserName="courier-test", PolicyName="s3", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}))
key = iam.create_access_key(UserName="courier-test")["AccessKey"]
boto3.client("s3", **setup).create_bucket(Bucket="courier-test")
# From the next request on, every request is authenticated against IAM.
# (Not form-encoded, or Flask takes the body for a form and moto reads nothing.)
request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
urllib.request.urlopen(request, timeout=10).close()
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
    ) || { echo "scripts/test: could not set up moto:" >&2; cat "$folder/s3/moto.log" >&2; s3_stop "$folder"; return 1; }

    export COURIER_TEST_S3_ENDPOINT="$endpoint"
    export COURIER_TEST_S3_BUCKET="courier-test"
    export COURIER_TEST_S3_REGION="us-east-1"
    export COURIER_TEST_S3_ACCESS_KEY_ID="${credentials%% *}"
    export COURIER_TEST_S3_SECRET_ACCESS_KEY="${credentials#* }"
}

# s3_stop FOLDER: stops the moto started by s3_start FOLDER, if it runs.
s3_stop() {
    local folder=$1 pid waited=0
    [ -f "$folder/s3/moto.pid" ] || return 0
    pid=$(cat "$folder/s3/moto.pid")
    rm -f "$folder/s3/moto.pid"
    kill "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge 20 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.25
        waited=$((waited + 1))
    done
    wait "$pid" 2>/dev/null || true
}
