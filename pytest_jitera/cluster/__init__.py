"""Cluster access: kind clusters, the checked toolset, Helm and kubectl on one kubeconfig."""
