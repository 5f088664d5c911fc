#!/usr/bin/env bash
# Placement through the aws CLI against a Quayside endpoint, with container
# instances registered by hand: strategies, constraints, the cluster query
# language (filters and its errors), StartTask's failures.
#
# Usage: AWS_CLI=/usr/bin/aws ENDPOINT=http://127.0.0.1:4566 placement.sh
# with AWS_SHARED_CREDENTIALS_FILE and AWS_DEFAULT_REGION set.
set -euo pipefail

cli=${AWS_CLI:-aws}
ecs() { "$cli" --endpoint-url "$ENDPOINT" --output text ecs "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect WANT GOT what
	[ "$1" = "$2" ] || fail "$3: got '$2', want '$1'"
	echo "ok: $3"
}
sorted() { tr '\t' '\n' | sort | tr '\n' ' ' | sed 's/ $//'; }
uniq_count() { tr '\t' '\n' | sort -u | grep -c .; }

c=sched
ecs create-cluster --cluster-name $c >/dev/null

# register NAME ZONE STACK MEMORY: a node registered by hand, as an agent would.
register() {
	ecs register-container-instance --cluster $c \
		--total-resources name=CPU,type=INTEGER,integerValue=2048 name=MEMORY,type=INTEGER,integerValue="$4" \
		"name=PORTS,type=STRINGSET,stringSetValue=22,2375,2376,51678,51679" \
		--attributes name=ecs.availability-zone,value="$2" name=stack,value="$3" name=node,value="$1" \
		--query containerInstance.containerInstanceArn
}
a=$(register a us-east-1a prod 4096)
b=$(register b us-east-1b prod 3072)
d=$(register d us-east-1c dev 2048)
echo "ok: registered three instances"

ecs register-task-definition --family job \
	--container-definitions '[{"name":"job","image":"quayside/echo:latest","cpu":128,"memory":256}]' >/dev/null

# spread over zones: one task in each.
expect "us-east-1a us-east-1b us-east-1c" \
	"$(ecs run-task --cluster $c --task-definition job --count 3 --group spread \
		--placement-strategy type=spread,field=attribute:ecs.availability-zone --query 'tasks[].availabilityZone' | sorted)" \
	"run-task spread attribute:ecs.availability-zone"

# binpack memory: the instance with the least memory left (d: 2048 - 256).
expect "$d" "$(ecs run-task --cluster $c --task-definition job --count 2 --group packed \
	--placement-strategy type=binpack,field=memory --query 'tasks[].containerInstanceArn' | tr '\t' '\n' | sort -u)" \
	"run-task binpack memory"

# memberOf with the query language: prod instances only.
out=$(ecs run-task --cluster $c --task-definition job --count 4 \
	--placement-constraints '[{"type":"memberOf","expression":"attribute:stack == prod and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"}]' \
	--query 'tasks[].containerInstanceArn')
for arn in $out; do [ "$arn" = "$a" ] || [ "$arn" = "$b" ] || fail "memberOf placed on $arn"; done
expect 4 "$(echo "$out" | tr '\t' '\n' | grep -c .)" "run-task memberOf (4 tasks on prod)"

# distinctInstance: at most one task of the group per instance.
out=$(ecs run-task --cluster $c --task-definition job --count 5 --group once \
	--placement-constraints type=distinctInstance --query '[length(tasks), length(failures), failures[0].reason]')
expect "3	3	DistinctInstance placement constraint unsatisfied." "$out" "run-task distinctInstance"

# A malformed expression says where.
if err=$(ecs run-task --cluster $c --task-definition job \
	--placement-constraints '[{"type":"memberOf","expression":"attribute:stack == prod and"}]' 2>&1); then
	fail "a malformed expression was accepted"
fi
case $err in *InvalidParameterException*"position 27"*) echo "ok: malformed memberOf points at position 27" ;; *) fail "malformed memberOf: $err" ;; esac

# ListContainerInstances --filter.
expect "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(ecs list-container-instances --cluster $c --filter 'attribute:stack == prod' --query containerInstanceArns | sorted)" \
	"list-container-instances --filter attribute"
expect "$d" "$(ecs list-container-instances --cluster $c --filter 'task:group == packed' --query containerInstanceArns)" \
	"list-container-instances --filter task:group"
expect "$a" "$(ecs list-container-instances --cluster $c --filter 'attribute:node =~ a.* and not(attribute:stack == dev)' --query containerInstanceArns)" \
	"list-container-instances --filter with =~ and not"
if ecs list-container-instances --cluster $c --filter 'runningTasksCount > lots' >/dev/null 2>&1; then
	fail "a malformed filter was accepted"
fi
echo "ok: malformed filter refused"

# StartTask on named instances: one that fits, one that cannot.
ecs register-task-definition --family big \
	--container-definitions '[{"name":"big","image":"quayside/echo:latest","cpu":128,"memory":2048}]' >/dev/null
out=$(ecs start-task --cluster $c --task-definition big --container-instances "$a" "$d" \
	--query '[tasks[0].containerInstanceArn, failures[0].arn, failures[0].reason]')
expect "$a	$d	RESOURCE:MEMORY" "$out" "start-task explains RESOURCE:MEMORY"

# Nothing fits anywhere: RunTask answers with failures, not an error.
expect "0	RESOURCE:MEMORY" "$(ecs run-task --cluster $c --task-definition big --count 1 \
	--placement-constraints '[{"type":"memberOf","expression":"attribute:node == d"}]' --query '[length(tasks), failures[0].reason]')" \
	"run-task with no room answers failures[]"

echo "all placement commands passed with $("$cli" --version 2>&1 | head -1)"
