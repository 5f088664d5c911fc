#!/usr/bin/env bash
# The ELBv2 API through the aws CLI against a Quayside endpoint: a load
# balancer, a target group, a listener, targets and their health, rules,
# attributes, tags, the errors clients see, and the deletes.
#
# Usage: AWS_CLI=/usr/bin/aws ENDPOINT=http://127.0.0.1:4566 LB_PORT=18080 [LB_DNS_SUFFIX=lb.localhost] elbv2.sh
# with AWS_SHARED_CREDENTIALS_FILE and AWS_DEFAULT_REGION set.
set -euo pipefail

cli=${AWS_CLI:-aws}
port=${LB_PORT:-18080}
elb() { "$cli" --endpoint-url "$ENDPOINT" --output text elbv2 "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect WANT GOT what
	[ "$1" = "$2" ] || fail "$3: got '$2', want '$1'"
	echo "ok: $3"
}
expect_error() { # expect_error CODE what -- command...
	local code=$1 what=$2
	shift 3
	local out
	if out=$(elb "$@" 2>&1); then fail "$what: succeeded, want $code"; fi
	case "$out" in
	*"($code)"*) echo "ok: $what -> $code" ;;
	*) fail "$what: got '$out', want $code" ;;
	esac
}

lb=$(elb create-load-balancer --name web --type application --subnets subnet-a subnet-b \
	--tags Key=env,Value=test --query 'LoadBalancers[0].LoadBalancerArn')
case "$lb" in arn:aws:elasticloadbalancing:*:loadbalancer/app/web/*) echo "ok: create-load-balancer $lb" ;; *) fail "lb arn $lb" ;; esac
expect "active	application	internet-facing" \
	"$(elb describe-load-balancers --names web --query 'LoadBalancers[0].[State.Code,Type,Scheme]')" "describe-load-balancers"
dns=$(elb describe-load-balancers --load-balancer-arns "$lb" --query 'LoadBalancers[0].DNSName')
case "$dns" in "web-"*".${LB_DNS_SUFFIX:-lb.localhost}") echo "ok: DNSName $dns" ;; *) fail "DNSName $dns" ;; esac

tg=$(elb create-target-group --name web-tg --protocol HTTP --port 8080 --target-type ip --vpc-id vpc-1 \
	--health-check-path /health --health-check-interval-seconds 10 --matcher HttpCode=200-299 \
	--query 'TargetGroups[0].TargetGroupArn')
expect "/health	10	200-299" \
	"$(elb describe-target-groups --target-group-arns "$tg" --query 'TargetGroups[0].[HealthCheckPath,HealthCheckIntervalSeconds,Matcher.HttpCode]')" \
	"create-target-group with health check settings"
api=$(elb create-target-group --name api-tg --protocol HTTP --port 9090 --target-type ip --query 'TargetGroups[0].TargetGroupArn')

elb register-targets --target-group-arn "$tg" --targets Id=127.0.0.1,Port=18001 Id=127.0.0.2 >/dev/null
expect "unused	Target.NotInUse" \
	"$(elb describe-target-health --target-group-arn "$tg" --query 'TargetHealthDescriptions[0].TargetHealth.[State,Reason]')" \
	"describe-target-health before a listener"

listener=$(elb create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$port" \
	--default-actions Type=forward,TargetGroupArn="$tg" --query 'Listeners[0].ListenerArn')
expect "$port	HTTP" "$(elb describe-listeners --load-balancer-arn "$lb" --query 'Listeners[0].[Port,Protocol]')" "create-listener"
expect "$lb" "$(elb describe-target-groups --target-group-arns "$tg" --query 'TargetGroups[0].LoadBalancerArns[0]')" \
	"the target group knows its load balancer"

states=$(elb describe-target-health --target-group-arn "$tg" --query 'TargetHealthDescriptions[].TargetHealth.State' | tr '\t' '\n' | sort -u)
case "$states" in initial | healthy | unhealthy | *$'\n'*) echo "ok: describe-target-health: $(echo $states)" ;; *) fail "states $states" ;; esac
expect "18001 8080" \
	"$(elb describe-target-health --target-group-arn "$tg" --query 'TargetHealthDescriptions[].Target.Port' | tr '\t' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"target ports (own and the group's)"
expect "unused	Target.NotRegistered" \
	"$(elb describe-target-health --target-group-arn "$tg" --targets Id=10.9.9.9 --query 'TargetHealthDescriptions[0].TargetHealth.[State,Reason]')" \
	"describe-target-health of an unregistered target"

rule=$(elb create-rule --listener-arn "$listener" --priority 10 \
	--conditions Field=path-pattern,Values='/api/*' --actions Type=forward,TargetGroupArn="$api" \
	--query 'Rules[0].RuleArn')
host=$(elb create-rule --listener-arn "$listener" --priority 20 \
	--conditions '[{"Field":"host-header","HostHeaderConfig":{"Values":["admin.example.com"]}},{"Field":"http-request-method","HttpRequestMethodConfig":{"Values":["GET","HEAD"]}}]' \
	--actions '[{"Type":"fixed-response","FixedResponseConfig":{"StatusCode":"403","ContentType":"text/plain","MessageBody":"no"}}]' \
	--query 'Rules[0].RuleArn')
redirect=$(elb create-rule --listener-arn "$listener" --priority 30 \
	--conditions '[{"Field":"query-string","QueryStringConfig":{"Values":[{"Key":"old","Value":"1"}]}},{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X-Legacy","Values":["yes"]}}]' \
	--actions '[{"Type":"redirect","RedirectConfig":{"Path":"/new/#{path}","StatusCode":"HTTP_302"}}]' \
	--query 'Rules[0].RuleArn')
weighted=$(elb create-rule --listener-arn "$listener" --priority 40 --conditions Field=path-pattern,Values='/canary/*' \
	--actions "[{\"Type\":\"forward\",\"ForwardConfig\":{\"TargetGroups\":[{\"TargetGroupArn\":\"$tg\",\"Weight\":90},{\"TargetGroupArn\":\"$api\",\"Weight\":10}],\"TargetGroupStickinessConfig\":{\"Enabled\":true,\"DurationSeconds\":300}}}]" \
	--query 'Rules[0].RuleArn')
expect "10 20 30 40 default" "$(elb describe-rules --listener-arn "$listener" --query 'Rules[].Priority' | tr '\t' ' ')" "create-rule (four rules and the default)"
expect "90	10" "$(elb describe-rules --rule-arns "$weighted" --query 'Rules[0].Actions[0].ForwardConfig.TargetGroups[].Weight')" "weighted forward"
expect "/new/#{path}	HTTP_302" "$(elb describe-rules --rule-arns "$redirect" --query 'Rules[0].Actions[0].RedirectConfig.[Path,StatusCode]')" "redirect rule"

elb modify-rule --rule-arn "$rule" --conditions Field=path-pattern,Values='/v2/*' >/dev/null
expect "/v2/*" "$(elb describe-rules --rule-arns "$rule" --query 'Rules[0].Conditions[0].Values[0]')" "modify-rule"
elb set-rule-priorities --rule-priorities RuleArn="$rule",Priority=50 RuleArn="$host",Priority=5 >/dev/null
expect "5 30 40 50 default" "$(elb describe-rules --listener-arn "$listener" --query 'Rules[].Priority' | tr '\t' ' ')" "set-rule-priorities"

elb modify-target-group-attributes --target-group-arn "$tg" \
	--attributes Key=deregistration_delay.timeout_seconds,Value=5 Key=load_balancing.algorithm.type,Value=least_outstanding_requests >/dev/null
expect "5" "$(elb describe-target-group-attributes --target-group-arn "$tg" --query "Attributes[?Key=='deregistration_delay.timeout_seconds'].Value")" \
	"modify-target-group-attributes"
elb modify-load-balancer-attributes --load-balancer-arn "$lb" --attributes Key=idle_timeout.timeout_seconds,Value=30 >/dev/null
expect "30" "$(elb describe-load-balancer-attributes --load-balancer-arn "$lb" --query "Attributes[?Key=='idle_timeout.timeout_seconds'].Value")" \
	"modify-load-balancer-attributes"
# Listener attributes (aws CLIs older than September 2024 lack the commands).
if out=$(elb describe-listener-attributes --listener-arn "$listener" \
	--query "Attributes[?Key=='routing.http.response.server.enabled'].Value" 2>&1); then
	expect "true" "$out" "describe-listener-attributes (the default)"
	elb modify-listener-attributes --listener-arn "$listener" --attributes \
		Key=routing.http.response.server.enabled,Value=false Key=routing.http.response.x_frame_options.header_value,Value=DENY >/dev/null
	expect "false	DENY" \
		"$(elb describe-listener-attributes --listener-arn "$listener" --query "Attributes[?Key=='routing.http.response.server.enabled' || Key=='routing.http.response.x_frame_options.header_value'].Value")" \
		"modify-listener-attributes"
	expect_error InvalidConfigurationRequest "modify-listener-attributes with an NLB attribute on an HTTP listener" -- \
		modify-listener-attributes --listener-arn "$listener" --attributes Key=tcp.idle_timeout.seconds,Value=120
else
	case "$out" in
	*"Invalid choice"* | *"invalid choice"*) echo "skip: this aws CLI has no describe-listener-attributes" ;;
	*) fail "describe-listener-attributes: $out" ;;
	esac
fi
elb modify-target-group --target-group-arn "$tg" --health-check-timeout-seconds 4 >/dev/null
elb modify-listener --listener-arn "$listener" --default-actions Type=fixed-response,FixedResponseConfig='{StatusCode=404}' >/dev/null
expect "fixed-response" "$(elb describe-listeners --listener-arns "$listener" --query 'Listeners[0].DefaultActions[0].Type')" "modify-listener"

elb add-tags --resource-arns "$lb" "$tg" --tags Key=team,Value=core >/dev/null
elb remove-tags --resource-arns "$lb" --tag-keys env >/dev/null
expect "team=core|team=core" \
	"$(elb describe-tags --resource-arns "$lb" "$tg" --query 'TagDescriptions[].Tags[].[Key,Value]' | tr '\t' '=' | tr '\n' '|' | sed 's/|$//')" \
	"add-tags, remove-tags, describe-tags"

# The errors clients see.
expect_error LoadBalancerNotFound "describe-load-balancers of a missing name" -- describe-load-balancers --names nope
expect_error DuplicateLoadBalancerName "create-load-balancer with the name taken" -- create-load-balancer --name web --type network
expect_error DuplicateTargetGroupName "create-target-group with the name taken" -- create-target-group --name web-tg --protocol HTTP --port 81
expect_error DuplicateListener "create-listener on a used port" -- create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$port" \
	--default-actions Type=forward,TargetGroupArn="$api"
expect_error PriorityInUse "create-rule with a used priority" -- create-rule --listener-arn "$listener" --priority 5 \
	--conditions Field=path-pattern,Values=/x --actions Type=forward,TargetGroupArn="$api"
expect_error ResourceInUse "delete-target-group in use" -- delete-target-group --target-group-arn "$api"
expect_error TargetGroupNotFound "register-targets to a missing group" -- register-targets --target-group-arn "${tg%/*}/0000000000000000" --targets Id=127.0.0.1
expect_error InvalidTarget "register-targets of a stopped instance" -- register-targets --target-group-arn "$(elb create-target-group --name inst --protocol HTTP --port 80 --query 'TargetGroups[0].TargetGroupArn')" --targets Id=i-0123456789abcdef0
expect_error ValidationError "create-target-group with a bad name" -- create-target-group --name bad_name --protocol HTTP --port 80
expect_error ValidationError "describe-load-balancers of a non-ARN" -- describe-load-balancers --load-balancer-arns web
expect_error RuleNotFound "delete-rule of a missing rule" -- delete-rule --rule-arn "${rule%/*}/0000000000000000"
expect_error ListenerNotFound "describe-listeners of a missing listener" -- describe-listeners --listener-arns "${listener%/*}/0000000000000000"

# Deregister drains; then delete everything.
# (The data plane removes a draining target as soon as it has no requests in
# flight, so it may already be gone.)
elb deregister-targets --target-group-arn "$tg" --targets Id=127.0.0.1,Port=18001 >/dev/null
h=$(elb describe-target-health --target-group-arn "$tg" --targets Id=127.0.0.1,Port=18001 --query 'TargetHealthDescriptions[0].TargetHealth.[State,Reason]')
case "$h" in
"draining	Target.DeregistrationInProgress" | "unused	Target.NotRegistered") echo "ok: deregister-targets: $h" ;;
*) fail "deregister-targets: $h" ;;
esac
for r in "$rule" "$host" "$redirect" "$weighted"; do elb delete-rule --rule-arn "$r" >/dev/null; done
expect "default" "$(elb describe-rules --listener-arn "$listener" --query 'Rules[].Priority')" "delete-rule"
elb delete-listener --listener-arn "$listener" >/dev/null
elb delete-load-balancer --load-balancer-arn "$lb" >/dev/null
elb delete-target-group --target-group-arn "$tg" >/dev/null
elb delete-target-group --target-group-arn "$api" >/dev/null
expect "0" "$(elb describe-load-balancers --query 'length(LoadBalancers)')" "delete-load-balancer"
expect "inst" "$(elb describe-target-groups --query 'TargetGroups[].TargetGroupName')" "delete-target-group"
echo "PASS"
