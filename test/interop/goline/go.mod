module etcdts.test/goline

go 1.26.0

require (
	go.etcd.io/etcd/client/v3 v3.7.4
	go.uber.org/zap v1.27.1
)
