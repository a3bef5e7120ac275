-- raw.mps_vehicles: as delivered (every value text, English column names) + lineage. Read by pipelines/feeds/mps_vehicles.py.
create table if not exists raw.mps_vehicles (
    person_id VARCHAR,
    vehicle_class VARCHAR,
    first_registered VARCHAR,
    event VARCHAR,
    event_date VARCHAR,
    _file VARCHAR,
    _row BIGINT,
    delivery_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
comment on table raw.mps_vehicles is 'Public security traffic management (公安交管): monthly new registrations and transfers for roster persons. Raw layer: values exactly as delivered (CSV), as text.';
comment on column raw.mps_vehicles.person_id is '身份证号 of the owner, trimmed and upper-cased. As delivered (text).';
comment on column raw.mps_vehicles.vehicle_class is 'car, truck, motorcycle, tricycle, other. As delivered (text).';
comment on column raw.mps_vehicles.first_registered is 'Date the vehicle was first registered. As delivered (text).';
comment on column raw.mps_vehicles.event is 'register, transfer_in, transfer_out, scrap. As delivered (text).';
comment on column raw.mps_vehicles.event_date is 'Date of the event. As delivered (text).';
comment on column raw.mps_vehicles.delivery_id is 'Delivery that brought the row: <feed_id>/<delivery_date> (ops.deliveries.delivery_id).';
comment on column raw.mps_vehicles.period is 'Data month YYYY-MM from the delivery manifest (the partition replaced by a re-delivery).';
comment on column raw.mps_vehicles._file is 'File name inside the delivery folder.';
comment on column raw.mps_vehicles._row is '1-based data row number in that file (header excluded), for error reports.';
