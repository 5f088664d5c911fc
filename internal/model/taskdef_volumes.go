package model

import "slices"

// taskVolumes checks the task's volumes and returns them with defaults
// filled in, plus the set of their names.
func taskVolumes(in []Volume) ([]Volume, map[string]bool, error) {
	out := make([]Volume, 0, len(in))
	names := map[string]bool{}
	atLaunch := 0
	for _, v := range in {
		if err := checkVolumeName(v.Name, names); err != nil {
			return nil, nil, err
		}
		names[v.Name] = true
		nv, err := normaliseVolume(v)
		if err != nil {
			return nil, nil, err
		}
		if nv.ConfiguredAtLaunch != nil && *nv.ConfiguredAtLaunch {
			atLaunch++
		}
		out = append(out, nv)
	}
	if atLaunch > 1 {
		return nil, nil, clientFail("Only one volume configured at launch is supported per task definition.")
	}
	return out, names, nil
}

func checkVolumeName(name string, seen map[string]bool) error {
	switch {
	case name == "":
		return clientFail("Volume.name should not be null or empty.")
	case len(name) > 255:
		return clientFail("Volume.name should be 255 characters or less.")
	case !tdNameRE.MatchString(name):
		return clientFail("Volume.name contains invalid characters.")
	case seen[name]:
		return clientFail("Duplicate volume name '%s'. Volume names must be unique within a task definition.", name)
	}
	return nil
}

// normaliseVolume checks one volume: at most one kind of configuration (none
// means a Docker-managed host volume), and the rules of that kind.
func normaliseVolume(v Volume) (Volume, error) {
	kinds := 0
	for _, set := range []bool{v.Host != nil, v.DockerVolumeConfiguration != nil, v.EfsVolumeConfiguration != nil,
		v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil,
		v.ConfiguredAtLaunch != nil && *v.ConfiguredAtLaunch} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		return v, clientFail("Volume '%s' can only specify one of host, dockerVolumeConfiguration, efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration, s3filesVolumeConfiguration or configuredAtLaunch.", v.Name)
	}
	if kinds == 0 {
		v.Host = &HostVolumeProperties{}
	}
	if d := v.DockerVolumeConfiguration; d != nil {
		nd, err := normaliseDockerVolume(v.Name, *d)
		if err != nil {
			return v, err
		}
		v.DockerVolumeConfiguration = &nd
	}
	if e := v.EfsVolumeConfiguration; e != nil {
		ne, err := normaliseEFSVolume(v.Name, *e)
		if err != nil {
			return v, err
		}
		v.EfsVolumeConfiguration = &ne
	}
	return v, nil
}

func normaliseDockerVolume(name string, d DockerVolumeConfiguration) (DockerVolumeConfiguration, error) {
	switch d.Scope {
	case "":
		d.Scope = ScopeTask
	case ScopeTask, ScopeShared:
	default:
		return d, clientFail("Invalid scope '%s' for volume '%s'. Valid values are task and shared.", d.Scope, name)
	}
	if d.Autoprovision != nil && *d.Autoprovision && d.Scope != ScopeShared {
		return d, clientFail("Invalid setting for volume '%s'. autoprovision is only supported when the scope is shared.", name)
	}
	return d, nil
}

func normaliseEFSVolume(name string, e EFSVolumeConfiguration) (EFSVolumeConfiguration, error) {
	if e.FileSystemId == "" {
		return e, clientFail("Invalid setting for volume '%s'. efsVolumeConfiguration requires a fileSystemId.", name)
	}
	ac := e.AuthorizationConfig
	usesAP := ac != nil && ac.AccessPointId != ""
	usesIAM := ac != nil && ac.Iam == EFSAuthorizationConfigIAMEnabled
	if (usesAP || usesIAM) && e.TransitEncryption != EFSTransitEncryptionEnabled {
		return e, clientFail("Invalid setting for volume '%s'. Transit encryption must be ENABLED when an access point or IAM authorization is used.", name)
	}
	if usesAP && e.RootDirectory != "" && e.RootDirectory != "/" {
		return e, clientFail("Invalid setting for volume '%s'. The root directory must be '/' or omitted when an access point is used.", name)
	}
	if e.RootDirectory == "" {
		e.RootDirectory = "/"
	}
	return e, nil
}

// hasVolume reports whether any volume of td satisfies pred.
func hasVolume(td *TaskDefinition, pred func(Volume) bool) bool {
	return slices.ContainsFunc(td.Volumes, pred)
}
