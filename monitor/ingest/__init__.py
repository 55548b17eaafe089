"""Kafka ingestion: the consumer loop (poll → parse → store → commit), the sample producer,
explicit topic creation and a local demo broker. Import the submodules you need; this
package imports nothing heavy on its own."""
