"""The bundled Ingress controller: serves networking.k8s.io/v1 Ingresses of the
`kubelite.io/ingress` IngressClasses on the node's HTTP and HTTPS ports."""
