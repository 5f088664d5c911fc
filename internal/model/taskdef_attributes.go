package model

import (
	"regexp"
	"strings"
)

// Capability attribute names a task definition can require. The legacy
// prefix is com.amazonaws.ecs.capability., the current one ecs.capability.
const (
	capLegacy = "com.amazonaws.ecs.capability."
	capNew    = "ecs.capability."

	AttrTaskENI          = capNew + "task-eni"
	AttrTaskIAMRole      = capLegacy + "task-iam-role"
	AttrContainerHealth  = capNew + "container-health-check"
	AttrContainerOrder   = capNew + "container-ordering"
	AttrLoggingDriverPfx = capLegacy + "logging-driver."
	AttrDockerAPIPfx     = capLegacy + "docker-remote-api."
)

var ecrImageRE = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`)

// attrSet collects attribute names once each, in first-seen order.
type attrSet struct {
	names []string
	seen  map[string]bool
}

func (s *attrSet) add(names ...string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, n := range names {
		if !s.seen[n] {
			s.seen[n] = true
			s.names = append(s.names, n)
		}
	}
}

func dockerAPI(v string) string { return AttrDockerAPIPfx + v }

// requiredAttributes computes the container instance attributes tasks of td
// need, the way ECS derives them from the features a definition uses. The
// mapping follows what ECS is observed to return (see the fact sheet §5.6);
// the docker-remote-api versions for named port mappings (1.29) and the log
// "mode" option (1.28) are inferred from real definitions.
func requiredAttributes(td *TaskDefinition) []Attribute {
	var s attrSet
	taskAttributes(td, &s)
	for i := range td.ContainerDefinitions {
		containerAttributes(&td.ContainerDefinitions[i], td.ExecutionRoleArn != "", &s)
	}
	out := make([]Attribute, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, Attribute{Name: n})
	}
	return out
}

func taskAttributes(td *TaskDefinition, s *attrSet) {
	if td.TaskRoleArn != "" {
		s.add(AttrTaskIAMRole)
	}
	if td.EffectiveNetworkMode() == NetworkModeAwsvpc {
		s.add(dockerAPI("1.18"), AttrTaskENI)
	}
	if td.PidMode != "" || td.IpcMode != "" {
		s.add(capNew + "pid-ipc-namespace-sharing")
	}
	if td.ProxyConfiguration != nil {
		s.add(capNew + "aws-appmesh")
	}
	if len(td.InferenceAccelerators) > 0 {
		s.add(capNew + "task-eia")
	}
	for _, v := range td.Volumes {
		volumeAttributes(v, s)
	}
}

func volumeAttributes(v Volume, s *attrSet) {
	switch {
	case v.EfsVolumeConfiguration != nil:
		s.add(capNew+"efs", dockerAPI("1.25"))
		if ac := v.EfsVolumeConfiguration.AuthorizationConfig; ac != nil && (ac.AccessPointId != "" || ac.Iam == EFSAuthorizationConfigIAMEnabled) {
			s.add(capNew + "efsAuth")
		}
	case v.DockerVolumeConfiguration != nil:
		s.add(dockerAPI("1.25"))
		if d := v.DockerVolumeConfiguration.Driver; d != "" && d != "local" {
			s.add(capNew + "docker-plugin." + d)
		}
	case v.FsxWindowsFileServerVolumeConfiguration != nil:
		s.add(capNew + "fsxWindowsFileServer")
	case v.ConfiguredAtLaunch != nil && *v.ConfiguredAtLaunch:
		s.add(capNew + "storage.ebs-task-volume-attach")
	}
}

func containerAttributes(c *ContainerDefinition, execRole bool, s *attrSet) {
	if ecrImageRE.MatchString(c.Image) {
		s.add(capLegacy + "ecr-auth")
		if execRole {
			s.add(capNew + "execution-role-ecr-pull")
		}
	}
	if c.RepositoryCredentials != nil {
		s.add(capLegacy + "private-registry-authentication.secretsmanager")
	}
	logAttributes(c, execRole, s)
	if c.MemoryReservation != nil {
		s.add(dockerAPI("1.21"))
	}
	if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
		s.add(dockerAPI("1.18"))
	}
	if c.HealthCheck != nil {
		s.add(AttrContainerHealth, dockerAPI("1.24"))
	}
	if len(c.DependsOn) > 0 || c.StartTimeout != nil || c.StopTimeout != nil {
		s.add(AttrContainerOrder)
	}
	secretAttributes(c.Secrets, ".environment-variables", s)
	if len(c.EnvironmentFiles) > 0 {
		s.add(capNew + "env-files.s3")
	}
	if c.Privileged != nil && *c.Privileged {
		s.add(capLegacy + "privileged-container")
	}
	securityOptionAttributes(c.DockerSecurityOptions, s)
	portAttributes(c.PortMappings, s)
	if c.RestartPolicy != nil && c.RestartPolicy.Enabled != nil && *c.RestartPolicy.Enabled {
		s.add(capNew + "container-restart-policy")
	}
	if lp := c.LinuxParameters; lp != nil && lp.InitProcessEnabled != nil && *lp.InitProcessEnabled {
		s.add(dockerAPI("1.25"))
	}
	if fc := c.FirelensConfiguration; fc != nil {
		s.add(capNew + "firelens." + string(fc.Type))
	}
}

func logAttributes(c *ContainerDefinition, execRole bool, s *attrSet) {
	lc := c.LogConfiguration
	if lc == nil {
		return
	}
	s.add(AttrLoggingDriverPfx+string(lc.LogDriver), dockerAPI("1.19"))
	if lc.LogDriver == LogDriverAwslogs && execRole {
		s.add(capNew + "execution-role-awslogs")
	}
	if _, ok := lc.Options["mode"]; ok {
		s.add(dockerAPI("1.28"))
	}
	secretAttributes(lc.SecretOptions, ".bootstrap.log-driver", s)
}

// secretAttributes: Secrets Manager references need the asm capability,
// anything else (SSM parameters) the ssm one.
func secretAttributes(secrets []Secret, suffix string, s *attrSet) {
	for _, sec := range secrets {
		if strings.Contains(sec.ValueFrom, ":secretsmanager:") {
			s.add(capNew + "secrets.asm" + suffix)
		} else {
			s.add(capNew + "secrets.ssm" + suffix)
		}
	}
}

func securityOptionAttributes(opts []string, s *attrSet) {
	for _, o := range opts {
		switch {
		case strings.HasPrefix(o, "label:"):
			s.add(capLegacy + "selinux")
		case strings.HasPrefix(o, "apparmor:"):
			s.add(capLegacy + "apparmor")
		}
	}
}

func portAttributes(pms []PortMapping, s *attrSet) {
	for _, pm := range pms {
		if pm.Name != "" || pm.AppProtocol != "" {
			s.add(dockerAPI("1.29"))
		}
		if pm.ContainerPortRange != "" {
			s.add(capNew + "network.container-port-range")
		}
	}
}
