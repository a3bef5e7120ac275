-- staging.mps_vehicles: typed, renamed, ids normalised. Built by pipelines/feeds/mps_vehicles.py (staging_sql).
create table if not exists staging.mps_vehicles (
    person_id VARCHAR,
    vehicle_class VARCHAR,
    first_registered DATE,
    event VARCHAR,
    event_date DATE,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    _file VARCHAR,
    _row BIGINT
);
comment on table staging.mps_vehicles is 'Public security traffic management (公安交管): monthly new registrations and transfers for roster persons. Typed staging layer (one partition per period).';
comment on column staging.mps_vehicles.person_id is '身份证号 of the owner, trimmed and upper-cased.';
comment on column staging.mps_vehicles.vehicle_class is 'car, truck, motorcycle, tricycle, other.';
comment on column staging.mps_vehicles.first_registered is 'Date the vehicle was first registered.';
comment on column staging.mps_vehicles.event is 'register, transfer_in, transfer_out, scrap.';
comment on column staging.mps_vehicles.event_date is 'Date of the event.';
comment on column staging.mps_vehicles.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column staging.mps_vehicles.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column staging.mps_vehicles._file is 'File name inside the delivery folder.';
comment on column staging.mps_vehicles._row is '1-based data row number in that file (header excluded), for error reports.';
