#!/bin/bash
# The standalone layer's stand-in for the extension where its Node cannot run
# (Amazon Linux 2: glibc 2.26, official Node builds need 2.28). An extension
# that exits during init fails the function (Extension.Crash), so this one
# registers for SHUTDOWN only (no INVOKE: it never holds up an invocation),
# parks in /next, and exits 0 at SHUTDOWN. No telemetry. Bash for /dev/tcp:
# Amazon Linux 2 has no curl-free HTTP client otherwise, and this costs no
# process start beyond bash itself. The launcher has already said why.
set -u

name=$1
api=${AWS_LAMBDA_RUNTIME_API:-}
host=${api%:*}
port=${api##*:}
base=/2020-01-01/extension

say() {
  printf '{"level":"%s","ext":"%s","msg":"%s"}\n' "$1" "$name" "$2"
}

# request METHOD PATH EXTRA_HEADERS BODY: sets status, ext_id, body.
# HTTP/1.1 with Connection: close; the body is read by its Content-Length,
# or to the end of the connection.
request() {
  local line len=0 data=$4
  status='' body=''
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf '%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "$api" "$3" "${#data}" "$data" >&3 || return 1
  IFS= read -r line <&3 || return 1
  status=${line#* }
  status=${status%% *}
  while IFS= read -r line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case ${line,,} in
      lambda-extension-identifier:*)
        ext_id=${line#*:}
        ext_id=${ext_id# }
        ;;
      content-length:*)
        len=${line#*:}
        len=${len# }
        ;;
    esac
  done
  case $len in '' | *[!0-9]*) len=0 ;; esac
  if [ "$len" -gt 0 ]; then
    IFS= read -r -N "$len" body <&3
  else
    # No length (a chunked answer): to the end, which Connection: close
    # brings; the chunk sizes in it do not matter to the match below.
    while IFS= read -r line <&3 || [ -n "$line" ]; do body+=$line; done
  fi
  exec 3<&-
  return 0
}

ext_id=''
if ! request POST "$base/register" "Lambda-Extension-Name: $name"$'\r\n' \
  '{"events":["SHUTDOWN"]}' || [ "$status" != 200 ] || [ -z "$ext_id" ]; then
  say error "register failed (${status:-no answer}); exiting"
  exit 1
fi

while :; do
  if ! request GET "$base/event/next" "Lambda-Extension-Identifier: $ext_id"$'\r\n' ''; then
    say error "the Extensions API did not answer /next; exiting"
    exit 1
  fi
  case $body in
    *'"SHUTDOWN"'*) exit 0 ;;
  esac
  if [ "$status" != 200 ]; then
    say error "/next answered ${status:-nothing}; exiting"
    exit 1
  fi
done
